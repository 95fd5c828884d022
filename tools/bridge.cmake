# genre-bridge: genred's messages to OSC (liblo) and MQTT (libmosquitto).
if(NOT GENRED_WITH_BRIDGE)
    return()
endif()
add_library(genred_bridge STATIC ${CMAKE_CURRENT_LIST_DIR}/bridge/bridge.c
    ${CMAKE_CURRENT_LIST_DIR}/bridge/bridge_streams.c ${CMAKE_CURRENT_LIST_DIR}/bridge/osc_out.c
    ${CMAKE_CURRENT_LIST_DIR}/bridge/mqtt_out.c)
target_include_directories(genred_bridge PUBLIC ${CMAKE_CURRENT_LIST_DIR}/bridge)
target_link_libraries(genred_bridge PUBLIC genred_clock genred_protocol genred_subscriber genred_log PkgConfig::ZMQ
    PkgConfig::JANSSON PkgConfig::LIBLO PkgConfig::MOSQUITTO)
add_executable(genre-bridge ${CMAKE_CURRENT_LIST_DIR}/genre-bridge.c)
target_link_libraries(genre-bridge PRIVATE genred_cli genred_bridge)
install(TARGETS genre-bridge RUNTIME DESTINATION bin)
