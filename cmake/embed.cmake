# A file as a C byte array, so a program carries it (the default model in
# genred_nn, the kiosk page in genre-web) and needs no install path to find
# it at run time. Included by CMakeLists.txt for genred_embed(); run as a
# script by the command genred_embed() sets up:
#   cmake -DINPUT=file -DOUTPUT=file.c -DSYMBOL=name -P embed.cmake
# writes `const unsigned char name[]` (the bytes, then a NUL so that text
# can be used as a string) and `const size_t name_size` (without the NUL).
if(CMAKE_SCRIPT_MODE_FILE)
    file(READ "${INPUT}" hex HEX)
    string(LENGTH "${hex}" hex_len)
    math(EXPR size "${hex_len} / 2")
    string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
    # A line every 16 bytes (CMake's regular expressions have no {16}).
    string(REPEAT "0x..," 16 line)
    string(REGEX REPLACE "(${line})" "\\1\n" bytes "${bytes}")
    file(WRITE "${OUTPUT}"
        "/* Generated from ${INPUT} by cmake/embed.cmake; do not edit. */\n"
        "#include <stddef.h>\n"
        "const unsigned char ${SYMBOL}[] = {\n${bytes}0x00};\n"
        "const size_t ${SYMBOL}_size = ${size};\n")
    return()
endif()

set(GENRED_EMBED_SCRIPT ${CMAKE_CURRENT_LIST_FILE})

# genred_embed(OUTPUT_C INPUT SYMBOL): OUTPUT_C, generated from INPUT at
# build time, defines SYMBOL and SYMBOL_size; add it to a target's sources.
function(genred_embed output input symbol)
    add_custom_command(OUTPUT ${output}
        COMMAND ${CMAKE_COMMAND} -DINPUT=${input} -DOUTPUT=${output} -DSYMBOL=${symbol}
                -P ${GENRED_EMBED_SCRIPT}
        DEPENDS ${input} ${GENRED_EMBED_SCRIPT}
        COMMENT "Embedding ${input} as ${symbol}")
endfunction()
