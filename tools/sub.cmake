# genre-sub: prints what a genred publishes (pretty, or --json lines).
add_executable(genre-sub ${CMAKE_CURRENT_LIST_DIR}/genre-sub.c)
target_link_libraries(genre-sub PRIVATE genred_cli PkgConfig::ZMQ PkgConfig::JANSSON)
# The protocol's size limits (daemon/protocol_limits.h).
target_include_directories(genre-sub PRIVATE ${CMAKE_SOURCE_DIR}/daemon)
install(TARGETS genre-sub RUNTIME DESTINATION bin)
