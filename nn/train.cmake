# Training maths (float), for genre-train; the gradient check compiles the
# same source in double.
add_library(genred_train STATIC
    ${CMAKE_CURRENT_LIST_DIR}/gru_train.c
    ${CMAKE_CURRENT_LIST_DIR}/gru_export.c
)
target_include_directories(genred_train PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(genred_train PUBLIC genred_nn PkgConfig::OPENBLAS m)
# The trainer's GRU gate loop (gate_step) is vectorised only at -O3 and with
# -fno-trapping-math (its clamps are compares GCC will not if-convert
# otherwise); genred uses no floating-point exceptions.
set_source_files_properties(${CMAKE_CURRENT_LIST_DIR}/gru_train.c PROPERTIES
    COMPILE_OPTIONS "-O3;-fno-trapping-math")
