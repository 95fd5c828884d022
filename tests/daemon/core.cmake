# The daemon end to end: real genred, real ZeroMQ sockets, real files and
# pipes (test_genred.py). Scenarios that exercise the threads also run under
# ThreadSanitizer.
if(NOT TARGET genred OR NOT TARGET genre-sub)
    return()
endif()
set(GENRED_CORE_TESTS
    stdin_s16le:threaded stdin_f32le:threaded stdin_garbage:threaded file_fast:threaded
    file_realtime:threaded reload_corrupt_model:threaded slow_subscriber:threaded
    late_subscriber:threaded sigterm:threaded bad_config: endpoint_in_use: example_subscriber:
    genre_sub: streams_and_silence:threaded print: systemd_notify:threaded)
foreach(entry ${GENRED_CORE_TESTS})
    string(REPLACE ":" ";" parts "${entry}")
    list(GET parts 0 scenario)
    set(labels daemon)
    list(LENGTH parts n)
    if(n GREATER 1)
        list(GET parts 1 extra)
        list(APPEND labels ${extra})
    endif()
    add_test(NAME genred_${scenario}
        COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/test_genred.py ${scenario})
    set_tests_properties(genred_${scenario} PROPERTIES TIMEOUT 90 LABELS "${labels}"
        ENVIRONMENT "GENRED_SOURCE_DIR=${CMAKE_SOURCE_DIR};GENRED_BUILD_DIR=${CMAKE_BINARY_DIR};GENRED_FLAVOUR=${GENRED_FLAVOUR};TSAN_OPTIONS=suppressions=${CMAKE_CURRENT_SOURCE_DIR}/tsan.supp")
endforeach()

genred_test(test_smoother SOURCES test_smoother.c ${CMAKE_SOURCE_DIR}/daemon/smoother.c
    LIBS m LABELS daemon INCLUDES ${CMAKE_SOURCE_DIR}/daemon)
