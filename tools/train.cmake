# genre-train, genre-eval, genre-classify: offline training and evaluation on
# the daemon's own front-end (genred_dsp) and inference code (genred_nn).
pkg_check_modules(GENRED_TOOLS_JANSSON REQUIRED IMPORTED_TARGET GLOBAL jansson)
find_library(GENRED_TOOLS_LIQUID liquid REQUIRED)
find_package(ZLIB REQUIRED)

add_library(genred_tools STATIC
    ${CMAKE_CURRENT_LIST_DIR}/classify.c
    ${CMAKE_CURRENT_LIST_DIR}/dataset.c
    ${CMAKE_CURRENT_LIST_DIR}/evaluate.c
    ${CMAKE_CURRENT_LIST_DIR}/file_list.c
    ${CMAKE_CURRENT_LIST_DIR}/metrics.c
    ${CMAKE_CURRENT_LIST_DIR}/plot.c
)
target_include_directories(genred_tools PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(genred_tools PUBLIC genred_cli genred_dsp genred_nn PkgConfig::GENRED_TOOLS_JANSSON
    ${GENRED_TOOLS_LIQUID} ZLIB::ZLIB Threads::Threads m)

add_executable(genre-train ${CMAKE_CURRENT_LIST_DIR}/genre-train.c)
target_link_libraries(genre-train PRIVATE genred_tools genred_train)

add_executable(genre-eval ${CMAKE_CURRENT_LIST_DIR}/genre-eval.c)
target_link_libraries(genre-eval PRIVATE genred_tools)

add_executable(genre-classify ${CMAKE_CURRENT_LIST_DIR}/genre-classify.c)
target_link_libraries(genre-classify PRIVATE genred_tools)
install(TARGETS genre-train genre-eval genre-classify)

# bench_model: one window's inference time for a model file (README figure).
if(GENRED_FLAVOUR STREQUAL "release")
    add_executable(bench_model ${CMAKE_CURRENT_LIST_DIR}/bench/bench_model.c)
    target_link_libraries(bench_model PRIVATE genred_cli genred_nn genred_dsp)
endif()
