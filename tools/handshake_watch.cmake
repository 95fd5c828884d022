# genred_handshake_watch: logs why a subscriber's ZeroMQ handshake fails
# (handshake_watch.h); genre-sub and genre-web link it.
add_library(genred_handshake_watch STATIC ${CMAKE_CURRENT_LIST_DIR}/handshake_watch.c)
target_include_directories(genred_handshake_watch PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(genred_handshake_watch PUBLIC PkgConfig::ZMQ Threads::Threads)
