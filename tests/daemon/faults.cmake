# Fault injection on the real daemon (test_faults.py, issue 9): SIGHUP
# storms, a model file rewritten during reloads, every config key wrong in
# turn, stdin cut mid-frame or stalled, a subscriber that never reads next to
# one that does. A few seconds each.
if(NOT TARGET genred)
    return()
endif()
foreach(entry sighup_storm:threaded model_swap:threaded config_keys: stdin_cut: stdin_stall:threaded
    stalled_subscriber:)
    string(REPLACE ":" ";" parts "${entry}")
    list(GET parts 0 scenario)
    set(labels daemon)
    list(LENGTH parts n)
    if(n GREATER 1)
        list(GET parts 1 extra)
        list(APPEND labels ${extra})
    endif()
    add_test(NAME genred_fault_${scenario}
        COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/test_faults.py ${scenario})
    set_tests_properties(genred_fault_${scenario} PROPERTIES TIMEOUT 120 LABELS "${labels}"
        ENVIRONMENT "GENRED_SOURCE_DIR=${CMAKE_SOURCE_DIR};GENRED_BUILD_DIR=${CMAKE_BINARY_DIR};GENRED_FLAVOUR=${GENRED_FLAVOUR};TSAN_OPTIONS=suppressions=${CMAKE_CURRENT_SOURCE_DIR}/tsan.supp")
endforeach()
