# Fault injection, storage tamper, protocol abuse, canaries
# (tests/reliability/CMakeLists.txt).
