# ctest fuzz_seeds_current: the committed seed corpora are exactly what
# fuzz_make_seeds writes today. If this fails after a format change, run
#   <build>/tests/fuzz/fuzz_make_seeds tests/fuzz/corpus
# (after removing tests/fuzz/corpus) and commit the result.
file(REMOVE_RECURSE "${OUT}")
execute_process(COMMAND "${GENERATOR}" "${OUT}" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "fuzz_make_seeds failed (${rc})")
endif()
file(GLOB_RECURSE made RELATIVE "${OUT}" "${OUT}/*")
file(GLOB_RECURSE committed RELATIVE "${CORPUS}" "${CORPUS}/*")
list(SORT made)
list(SORT committed)
if(NOT made STREQUAL committed)
  message(FATAL_ERROR "the seed files differ from tests/fuzz/corpus:\n"
                      "made: ${made}\ncommitted: ${committed}")
endif()
foreach(f IN LISTS made)
  execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files
                          "${OUT}/${f}" "${CORPUS}/${f}"
                  RESULT_VARIABLE differs)
  if(differs)
    message(FATAL_ERROR "seed ${f} differs from what fuzz_make_seeds makes")
  endif()
endforeach()
list(LENGTH made count)
message(STATUS "${count} seed files are current")
