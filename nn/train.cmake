# genred_gru_train: the GRU's training maths (forward, backward, export to a
# model) in float, for genre-train; the gradient check compiles the same
# source in double. The training runs over clip lists are genred_train_eval
# (tools/train/).
add_library(genred_gru_train STATIC
    ${CMAKE_CURRENT_LIST_DIR}/gru_train.c
    ${CMAKE_CURRENT_LIST_DIR}/gru_export.c
)
target_include_directories(genred_gru_train PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(genred_gru_train PUBLIC genred_nn PkgConfig::OPENBLAS m)
# The trainer's GRU gate loop (gate_step) is vectorised only at -O3 and with
# -fno-trapping-math (its clamps are compares GCC will not if-convert
# otherwise); genred uses no floating-point exceptions.
set_source_files_properties(${CMAKE_CURRENT_LIST_DIR}/gru_train.c PROPERTIES
    COMPILE_OPTIONS "-O3;-fno-trapping-math")
