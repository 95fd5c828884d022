# genre-web: the kiosk page server (libmicrohttpd + ZeroMQ SUB + jansson),
# its modules in tools/web/ (see tools/web/genre-web.c).

set(GENRE_WEB_PAGE ${CMAKE_CURRENT_SOURCE_DIR}/web/index.html)
set(GENRE_WEB_PAGE_C ${CMAKE_CURRENT_BINARY_DIR}/genre_web_page.c)
genred_embed(${GENRE_WEB_PAGE_C} ${GENRE_WEB_PAGE} genre_web_page)

# Everything but main, so unit tests can link the modules.
set(GENRE_WEB_DIR ${CMAKE_CURRENT_SOURCE_DIR}/web)
add_library(genred_web STATIC
    ${GENRE_WEB_DIR}/web_conns.c ${GENRE_WEB_DIR}/web_events.c ${GENRE_WEB_DIR}/web_fanout.c
    ${GENRE_WEB_DIR}/web_history.c ${GENRE_WEB_DIR}/web_http.c ${GENRE_WEB_DIR}/web_listen.c
    ${GENRE_WEB_DIR}/web_subscriber.c ${GENRE_WEB_PAGE_C})
target_include_directories(genred_web PUBLIC ${GENRE_WEB_DIR})
target_link_libraries(genred_web PUBLIC genred_clock genred_curve genred_protocol genred_subscriber genred_log
    PkgConfig::MICROHTTPD PkgConfig::ZMQ PkgConfig::JANSSON Threads::Threads)

add_executable(genre-web ${GENRE_WEB_DIR}/genre-web.c)
target_link_libraries(genre-web PRIVATE genred_web genred_cli)

install(TARGETS genre-web RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
