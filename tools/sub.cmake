# genre-sub: prints what a genred publishes (pretty, or --json lines).
pkg_check_modules(SUB_ZMQ REQUIRED IMPORTED_TARGET libzmq)
pkg_check_modules(SUB_JANSSON REQUIRED IMPORTED_TARGET jansson)
add_executable(genre-sub ${CMAKE_CURRENT_LIST_DIR}/genre-sub.c)
target_link_libraries(genre-sub PRIVATE genred_cli PkgConfig::SUB_ZMQ PkgConfig::SUB_JANSSON)
install(TARGETS genre-sub RUNTIME DESTINATION bin)
