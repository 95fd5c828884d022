# cmake -DIN=file -DOUT=file.c -DSYMBOL=name -P embed.cmake
# Writes IN as `const unsigned char SYMBOL[]` and `const size_t SYMBOL_size`.
file(READ ${IN} hex HEX)
string(LENGTH "${hex}" n)
math(EXPR size "${n} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)" "\\1\n" bytes "${bytes}")
file(WRITE ${OUT} "/* Generated from ${IN} by embed.cmake; do not edit. */\n#include <stddef.h>\n"
    "const unsigned char ${SYMBOL}[${size}] = {\n${bytes}\n};\n"
    "const size_t ${SYMBOL}_size = ${size};\n")
