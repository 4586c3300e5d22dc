# The vault's in-process concurrency tests again, built against
# tvault_vault_tsan (vault/CMakeLists.txt) so that ThreadSanitizer watches
# the store, the log sequencer, group commit and upload staging. They run in
# the release stage of CI (label tsan); any report fails the test.
if(TVAULT_TSAN_TESTS)
  foreach(test group_commit_test sqlcipher_store_test rate_limiter_test)
    set(tsan_test tsan_${test})
    add_executable(${tsan_test} ${test}.cc)
    target_link_libraries(${tsan_test} PRIVATE tvault_vault_tsan tvault_client
                          PkgConfig::SQLCIPHER GTest::gtest GTest::gmock
                          GTest::gtest_main)
    target_compile_definitions(${tsan_test} PRIVATE SQLITE_HAS_CODEC
      TVAULT_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
    gtest_discover_tests(${tsan_test} TEST_PREFIX "tsan." DISCOVERY_TIMEOUT 60
      PROPERTIES TIMEOUT 600 LABELS tsan
                 ENVIRONMENT "TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1")
  endforeach()
endif()
