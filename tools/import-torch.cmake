# genre-import-torch: Python, copied next to the C programs so build/bin has every tool.
configure_file(${CMAKE_CURRENT_LIST_DIR}/genre-import-torch ${CMAKE_BINARY_DIR}/bin/genre-import-torch
    COPYONLY)
install(PROGRAMS ${CMAKE_CURRENT_LIST_DIR}/genre-import-torch TYPE BIN)
