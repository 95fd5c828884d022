# genre-web: the kiosk page server (libmicrohttpd + ZeroMQ SUB + jansson).

set(GENRE_WEB_PAGE ${CMAKE_CURRENT_SOURCE_DIR}/web/index.html)
set(GENRE_WEB_PAGE_C ${CMAKE_CURRENT_BINARY_DIR}/genre_web_page.c)
genred_embed(${GENRE_WEB_PAGE_C} ${GENRE_WEB_PAGE} genre_web_page)

add_executable(genre-web ${CMAKE_CURRENT_SOURCE_DIR}/genre-web.c ${GENRE_WEB_PAGE_C})
target_link_libraries(genre-web PRIVATE PkgConfig::MICROHTTPD PkgConfig::ZMQ PkgConfig::JANSSON Threads::Threads)

install(TARGETS genre-web RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
