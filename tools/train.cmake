# genre-train, genre-eval, genre-classify: offline training and evaluation on
# the daemon's own front-end (genred_dsp) and inference code (genred_nn).
# The library is tools/train/; genred_tools adds what the programs share:
# the per-file classification (classify.h) and folder walks (file_list.h),
# over genred_cli's command-line helpers.
add_subdirectory(${CMAKE_CURRENT_LIST_DIR}/train ${CMAKE_CURRENT_BINARY_DIR}/train)
add_library(genred_tools STATIC
    ${CMAKE_CURRENT_LIST_DIR}/classify.c
    ${CMAKE_CURRENT_LIST_DIR}/file_list.c
)
target_include_directories(genred_tools PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(genred_tools PUBLIC genred_cli genred_train_eval genred_path_json)

add_executable(genre-train ${CMAKE_CURRENT_LIST_DIR}/genre-train.c)
target_link_libraries(genre-train PRIVATE genred_tools genred_gru_train)

add_executable(genre-eval ${CMAKE_CURRENT_LIST_DIR}/genre-eval.c)
target_link_libraries(genre-eval PRIVATE genred_tools)

add_executable(genre-classify ${CMAKE_CURRENT_LIST_DIR}/genre-classify.c)
target_link_libraries(genre-classify PRIVATE genred_tools)
install(TARGETS genre-train genre-eval genre-classify)

# bench_model: one window's inference time for a model file (README figure).
if(GENRED_FLAVOUR STREQUAL "release")
    add_executable(bench_model ${CMAKE_CURRENT_LIST_DIR}/bench/bench_model.c)
    target_link_libraries(bench_model PRIVATE genred_cli genred_clock genred_nn genred_dsp)
endif()
