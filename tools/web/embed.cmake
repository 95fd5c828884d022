# cmake -DINPUT=file -DOUTPUT=file.c -DSYMBOL=name -P embed.cmake
# Turns a file into a C byte array, so the kiosk page ships inside the binary
# and works offline without an install path to find it at.
file(READ "${INPUT}" hex HEX)
string(LENGTH "${hex}" hex_len)
math(EXPR size "${hex_len} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
# Break the one long line every 16 bytes so compilers and diffs stay happy.
string(REGEX REPLACE "((0x..,){16})" "\\1\n" bytes "${bytes}")
file(WRITE "${OUTPUT}"
    "/* Generated from ${INPUT} by embed.cmake; do not edit. */\n"
    "#include <stddef.h>\n"
    "const unsigned char ${SYMBOL}[] = {\n${bytes}0x00};\n"
    "const size_t ${SYMBOL}_size = ${size};\n")
