# Pathological audio end to end (test_pathological.py): silence, DC,
# full-scale square and noise, clicks, and files at different rates.
if(NOT TARGET genred)
    return()
endif()
foreach(scenario signals rates)
    add_test(NAME genred_pathological_${scenario}
        COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/test_pathological.py ${scenario})
    set_tests_properties(genred_pathological_${scenario} PROPERTIES TIMEOUT 90
        LABELS "daemon;threaded"
        ENVIRONMENT "GENRED_SOURCE_DIR=${CMAKE_SOURCE_DIR};GENRED_BUILD_DIR=${CMAKE_BINARY_DIR};GENRED_FLAVOUR=${GENRED_FLAVOUR};TSAN_OPTIONS=suppressions=${CMAKE_CURRENT_SOURCE_DIR}/tsan.supp")
endforeach()
