# Crash consistency and soak (tests/reliability/CMakeLists.txt).
