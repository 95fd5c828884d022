# genre-features: prints the MFCC frames genred computes for an audio file.
add_executable(genre-features ${CMAKE_CURRENT_LIST_DIR}/genre-features.c)
target_link_libraries(genre-features PRIVATE genred_cli genred_dsp genred_nn)
install(TARGETS genre-features)
