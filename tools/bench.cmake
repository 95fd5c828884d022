# Benchmarks: programs that print figures, not tests.
add_executable(bench_gru ${CMAKE_CURRENT_LIST_DIR}/bench/bench_gru.c)
target_link_libraries(bench_gru PRIVATE genred_nn)
