# genred_subscriber: what programs that subscribe to genred share: their
# CURVE keys (sub_keys.h) and a log line when the handshake fails
# (handshake_watch.h). genre-sub, genre-web and genre-bridge link it.
add_library(genred_subscriber STATIC ${CMAKE_CURRENT_LIST_DIR}/handshake_watch.c
    ${CMAKE_CURRENT_LIST_DIR}/sub_keys.c)
target_include_directories(genred_subscriber PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(genred_subscriber PUBLIC genred_clock genred_curve PkgConfig::ZMQ Threads::Threads)
