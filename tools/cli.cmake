# genred_cli: the argument, --help and --version helpers every program
# shares (cli.h), with the project version compiled in.
add_library(genred_cli STATIC ${CMAKE_CURRENT_LIST_DIR}/cli.c)
target_include_directories(genred_cli PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_compile_definitions(genred_cli PRIVATE GENRED_VERSION="${PROJECT_VERSION}")
