# genre-sub: prints what a genred publishes (pretty, or --json lines).
add_executable(genre-sub ${CMAKE_CURRENT_LIST_DIR}/genre-sub.c)
target_link_libraries(genre-sub PRIVATE genred_cli genred_protocol genred_subscriber
    PkgConfig::ZMQ PkgConfig::JANSSON)
install(TARGETS genre-sub RUNTIME DESTINATION bin)
