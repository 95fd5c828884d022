# genre-web: the kiosk page server (libmicrohttpd + ZeroMQ SUB + jansson).

set(GENRE_WEB_PAGE ${CMAKE_CURRENT_SOURCE_DIR}/web/index.html)
set(GENRE_WEB_PAGE_C ${CMAKE_CURRENT_BINARY_DIR}/genre_web_page.c)
add_custom_command(OUTPUT ${GENRE_WEB_PAGE_C}
    COMMAND ${CMAKE_COMMAND} -DINPUT=${GENRE_WEB_PAGE} -DOUTPUT=${GENRE_WEB_PAGE_C}
            -DSYMBOL=genre_web_page -P ${CMAKE_CURRENT_SOURCE_DIR}/web/embed.cmake
    DEPENDS ${GENRE_WEB_PAGE} ${CMAKE_CURRENT_SOURCE_DIR}/web/embed.cmake
    COMMENT "Embedding the genre-web page")

add_executable(genre-web ${CMAKE_CURRENT_SOURCE_DIR}/genre-web.c ${GENRE_WEB_PAGE_C})
target_link_libraries(genre-web PRIVATE PkgConfig::MICROHTTPD PkgConfig::ZMQ PkgConfig::JANSSON Threads::Threads)

install(TARGETS genre-web RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
