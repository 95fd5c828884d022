# Debian package by CPack: cpack -G DEB in a release build directory.
# Depends are computed by dpkg-shlibdeps from the binaries actually shipped.
set(CPACK_PACKAGE_NAME genred)
set(CPACK_PACKAGE_VENDOR "The genred authors")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "real-time music-genre classifier daemon")
# Debian wants the long description wrapped; CPack indents each line and puts
# the summary first.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
"genred listens to live audio (ALSA through PortAudio, JACK, PCM on standard
input, or audio files), runs a small int8 GRU over MFCCs of a sliding
3-second window, and publishes smoothed genre probabilities as JSON over
ZeroMQ. It comes with hardened systemd units and the tools that train and
evaluate its models.")
set(CPACK_PACKAGE_CONTACT "The genred authors <maintainers@genred.invalid>" CACHE STRING
    "Debian Maintainer field")
set(CPACK_RESOURCE_FILE_LICENSE ${CMAKE_SOURCE_DIR}/LICENSE)
include(GNUInstallDirs)
install(FILES ${CMAKE_SOURCE_DIR}/LICENSE DESTINATION ${CMAKE_INSTALL_DOCDIR} RENAME copyright)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION sound)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# genre-import-torch (converting PyTorch checkpoints) is Python and needs torch.
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "python3, python3-torch, python3-numpy")
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS OFF)

# dpkg only protects files listed as conffiles; maintainer scripts create the
# system user and let systemd see the units (debian/ beside this file).
set(GENRED_DEBIAN_DIR ${CMAKE_CURRENT_BINARY_DIR}/debian)
file(WRITE ${GENRED_DEBIAN_DIR}/conffiles "${GENRED_CONFIG_DIR}/genred.conf\n")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${GENRED_DEBIAN_DIR}/conffiles
    ${CMAKE_CURRENT_SOURCE_DIR}/debian/postinst ${CMAKE_CURRENT_SOURCE_DIR}/debian/prerm
    ${CMAKE_CURRENT_SOURCE_DIR}/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

set(CPACK_GENERATOR DEB)
include(CPack)
