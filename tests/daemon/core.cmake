# The daemon end to end: real genred, real ZeroMQ sockets, real files and
# pipes (test_genred.py). Scenarios that exercise the threads also run under
# ThreadSanitizer.
if(NOT TARGET genred OR NOT TARGET genre-sub)
    return()
endif()
# 180 s: the longest take 15-40 s alone and over 60 s beside a CPU hog
# (bad_config's many genred runs: 62 s at a load of 11 on 2 cores).
genred_py_scenarios(test_genred.py genred_ 180 daemon
    stdin_s16le:threaded stdin_f32le:threaded stdin_garbage:threaded file_fast:threaded
    file_realtime:threaded reload_corrupt_model:threaded reload_decoder:threaded slow_subscriber:threaded
    late_subscriber:threaded change_log:threaded clients_drop_duplicates: sigterm:threaded bad_config: endpoint_in_use: example_subscriber:
    genre_sub: streams_and_silence:threaded silence_change: print: print_closed:threaded
    short_input: systemd_notify:threaded settings_files: odd_input_name: help_defaults:
    log_order:threaded many_streams_status:)

genred_test(test_smoother SOURCES test_smoother.c ${CMAKE_SOURCE_DIR}/daemon/smoother.c
    LIBS m LABELS daemon INCLUDES ${CMAKE_SOURCE_DIR}/daemon)

genred_test(test_tracker SOURCES test_tracker.c LIBS genred_tracker LABELS daemon)
genred_test(test_hmm_filter SOURCES test_hmm_filter.c LIBS genred_tracker LABELS daemon
    INCLUDES ${CMAKE_SOURCE_DIR}/nn)
genred_test(test_arrivals SOURCES test_arrivals.c ${CMAKE_SOURCE_DIR}/daemon/arrivals.c
    LIBS Threads::Threads LABELS "daemon;threaded" INCLUDES ${CMAKE_SOURCE_DIR}/daemon)
genred_test(test_messages SOURCES test_messages.c LIBS genred_core LABELS daemon)
genred_test(test_protocol SOURCES test_protocol.c LIBS genred_protocol LABELS daemon)
