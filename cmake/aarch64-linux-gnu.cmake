# Cross build for 64-bit ARM (Raspberry Pi 3/4/5 and similar kiosk boards)
# with Debian's gcc-aarch64-linux-gnu and the arm64 -dev packages installed
# through multiarch (dpkg --add-architecture arm64), so headers and libraries
# come from the same Debian versions as on a real arm64 system and
# dpkg-shlibdeps finds the arm64 packages for the .deb. Used by
# `tools/dev build arm64`; tests run under qemu-user as the emulator.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(GENRED_TRIPLET aarch64-linux-gnu)

set(CMAKE_C_COMPILER ${GENRED_TRIPLET}-gcc)
# Multiarch: the target's libraries are in /usr/lib/aarch64-linux-gnu, found
# by the cross compiler itself; pkg-config must only see the arm64 .pc files.
set(PKG_CONFIG_EXECUTABLE ${GENRED_TRIPLET}-pkg-config CACHE FILEPATH "arm64 pkg-config")
set(CMAKE_LIBRARY_ARCHITECTURE ${GENRED_TRIPLET})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)

# add_test() runs target executables through qemu; the arm64 dynamic loader
# and libraries are installed on the host by multiarch, so no -L is needed.
find_program(GENRED_QEMU NAMES qemu-aarch64-static qemu-aarch64)
if(GENRED_QEMU)
    set(CMAKE_CROSSCOMPILING_EMULATOR ${GENRED_QEMU})
endif()

# The Debian architecture CPack names the package for (dpkg-shlibdeps then
# resolves the arm64 libraries).
set(CPACK_DEBIAN_PACKAGE_ARCHITECTURE arm64)
