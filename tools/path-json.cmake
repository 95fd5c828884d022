# File names (bytes) in JSON results: genre-classify's and genre-queue's.
add_library(genred_path_json STATIC ${CMAKE_CURRENT_LIST_DIR}/path_json.c)
target_include_directories(genred_path_json PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(genred_path_json PUBLIC genred_util PkgConfig::JANSSON)
