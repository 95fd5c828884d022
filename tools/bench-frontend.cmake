# bench_frontend: front-end throughput benchmark (not a test; run by hand,
# with tools/bench/frontend_vs_aubio.sh for the comparison with aubio).
# Release only, as every benchmark.
if(NOT GENRED_FLAVOUR STREQUAL "release")
    return()
endif()
add_executable(bench_frontend ${CMAKE_CURRENT_LIST_DIR}/bench/bench_frontend.c)
target_link_libraries(bench_frontend PRIVATE genred_cli genred_clock genred_dsp)
