# Benchmarks: programs that print figures, not tests. Release only: figures
# from sanitizer builds mean nothing, and CI time is short.
if(NOT GENRED_FLAVOUR STREQUAL "release")
    return()
endif()
add_executable(bench_gru ${CMAKE_CURRENT_LIST_DIR}/bench/bench_gru.c)
target_link_libraries(bench_gru PRIVATE genred_cli genred_clock genred_nn)
add_executable(bench_stream ${CMAKE_CURRENT_LIST_DIR}/bench/bench_stream.c)
target_link_libraries(bench_stream PRIVATE genred_cli genred_clock genred_nn)
