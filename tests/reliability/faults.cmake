# Fault injection, storage tamper, protocol abuse, canaries
# (tests/reliability/CMakeLists.txt). Each driver is a program that starts
# a real tvaultd and runs for --duration seconds; the ctest entries below
# are the CI short forms (label `reliability`), scripts/campaign.sh runs
# the long forms.

# Release build only: the drivers are timing-sensitive, libfiu's preload
# does not mix with AddressSanitizer's interceptors, and building them
# under ASan would only lengthen CI.
if(TVAULT_SANITIZE)
  return()
endif()

# What the drivers share (reliability_support.h), on the records calls of
# the end-to-end tests (tvault_e2e). Links SQLCipher to check the database
# directly.
add_library(tvault_reliability_support STATIC reliability_support.cc)
target_link_libraries(tvault_reliability_support
  PUBLIC tvault_e2e PkgConfig::SQLCIPHER)
target_compile_definitions(tvault_reliability_support
  PUBLIC SQLITE_HAS_CODEC TVAULTD_BIN="$<TARGET_FILE:tvaultd>"
         TVAULT_BIN="$<TARGET_FILE:tvault>")

# tvault_reliability_driver(NAME): NAME.cc, linked with the support.
function(tvault_reliability_driver name)
  add_executable(${name} ${name}.cc)
  target_link_libraries(${name} PRIVATE tvault_reliability_support)
  add_dependencies(${name} tvaultd tvault)
endfunction()

tvault_reliability_driver(tvault_faults)
tvault_reliability_driver(tvault_canaries)
tvault_reliability_driver(tvault_tamper)
tvault_reliability_driver(tvault_abuse)
# Completed TLS handshakes that then stay silent.
find_package(OpenSSL 3.0 REQUIRED)
target_link_libraries(tvault_abuse PRIVATE OpenSSL::SSL)

# Regression test of what tvault_abuse found: streams never hold every
# server thread.
tvault_test(stream_slots_test SOURCES stream_slots_test.cc LIBS tvault_e2e)
target_compile_definitions(stream_slots_test PRIVATE
  TVAULTD_BIN="$<TARGET_FILE:tvaultd>")
add_dependencies(stream_slots_test tvaultd)

# ... and tvaultd raises its open-file limit (gRPC 1.51 stops accepting
# connections for good after one EMFILE).
tvault_test(open_files_test SOURCES open_files_test.cc LIBS tvault_e2e)
target_compile_definitions(open_files_test PRIVATE
  TVAULTD_BIN="$<TARGET_FILE:tvaultd>")
add_dependencies(open_files_test tvaultd)

# The CI short forms.
add_test(NAME reliability_faults COMMAND tvault_faults --duration 40)
set_tests_properties(reliability_faults PROPERTIES
  LABELS reliability TIMEOUT 240)
add_test(NAME reliability_tamper COMMAND tvault_tamper --duration 45)
set_tests_properties(reliability_tamper PROPERTIES
  LABELS reliability TIMEOUT 240)
add_test(NAME reliability_abuse COMMAND tvault_abuse --duration 63)
# Alone: its latency bound must not measure the other tests' load.
set_tests_properties(reliability_abuse PROPERTIES
  LABELS reliability TIMEOUT 240 RUN_SERIAL TRUE)
add_test(NAME reliability_canaries COMMAND tvault_canaries)
set_tests_properties(reliability_canaries PROPERTIES
  LABELS reliability TIMEOUT 240)
