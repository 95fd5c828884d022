# genre-model-info: prints what a model file (or the built-in default) holds.
add_executable(genre-model-info ${CMAKE_CURRENT_LIST_DIR}/genre-model-info.c)
target_link_libraries(genre-model-info PRIVATE genred_cli genred_nn)
install(TARGETS genre-model-info)
