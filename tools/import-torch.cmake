# genre-import-torch: Python, copied next to the C programs so build/bin has every tool,
# with the project version filled in (--version).
configure_file(${CMAKE_CURRENT_LIST_DIR}/genre-import-torch ${CMAKE_BINARY_DIR}/bin/genre-import-torch
    @ONLY)
install(PROGRAMS ${CMAKE_BINARY_DIR}/bin/genre-import-torch TYPE BIN)
