# Every external library genred uses, found once here as a GLOBAL imported
# target, so every folder links the same thing by the same name (Debian
# package in brackets; tools/dev lists them all).
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)

# Optional audio back-ends of the daemon: switch them off to build without
# the libraries (their inputs then say "built without ... support").
option(GENRED_WITH_JACK "genred's jack: input and the JACK tests (libjack-jackd2-dev)" ON)
option(GENRED_WITH_PORTAUDIO "genred's portaudio: input (portaudio19-dev)" ON)

pkg_check_modules(SNDFILE REQUIRED IMPORTED_TARGET GLOBAL sndfile)        # libsndfile1-dev
pkg_check_modules(FFTW3F REQUIRED IMPORTED_TARGET GLOBAL fftw3f)          # libfftw3-dev
pkg_check_modules(ZMQ REQUIRED IMPORTED_TARGET GLOBAL libzmq)             # libzmq3-dev
pkg_check_modules(JANSSON REQUIRED IMPORTED_TARGET GLOBAL jansson)        # libjansson-dev
pkg_check_modules(LIBCONFIG REQUIRED IMPORTED_TARGET GLOBAL libconfig)    # libconfig-dev
pkg_check_modules(SYSTEMD REQUIRED IMPORTED_TARGET GLOBAL libsystemd)     # libsystemd-dev
pkg_check_modules(OPENBLAS REQUIRED IMPORTED_TARGET GLOBAL openblas)      # libopenblas-dev
pkg_check_modules(MICROHTTPD REQUIRED IMPORTED_TARGET GLOBAL libmicrohttpd) # libmicrohttpd-dev
# liquid-dsp ships no pkg-config file (libliquid-dev).
find_library(LIQUID_LIBRARY liquid REQUIRED)
find_package(ZLIB REQUIRED)                                               # zlib1g-dev
set_target_properties(ZLIB::ZLIB PROPERTIES IMPORTED_GLOBAL TRUE)
# genre-bridge (OSC and MQTT outputs) needs both; without them it is not
# built and says so.
pkg_check_modules(LIBLO IMPORTED_TARGET GLOBAL liblo)                     # liblo-dev
pkg_check_modules(MOSQUITTO IMPORTED_TARGET GLOBAL libmosquitto)          # libmosquitto-dev
set(GENRED_BRIDGE_DEFAULT OFF)
if(LIBLO_FOUND AND MOSQUITTO_FOUND)
    set(GENRED_BRIDGE_DEFAULT ON)
endif()
option(GENRED_WITH_BRIDGE "genre-bridge, genred to OSC and MQTT (liblo-dev, libmosquitto-dev)"
    ${GENRED_BRIDGE_DEFAULT})
if(GENRED_WITH_BRIDGE AND NOT (LIBLO_FOUND AND MOSQUITTO_FOUND))
    message(FATAL_ERROR "GENRED_WITH_BRIDGE is ON but liblo or libmosquitto (Debian: liblo-dev, "
        "libmosquitto-dev) was not found")
endif()
if(NOT GENRED_WITH_BRIDGE)
    message(STATUS "genred: no liblo or libmosquitto; genre-bridge not built")
endif()
if(GENRED_WITH_JACK)
    pkg_check_modules(JACK REQUIRED IMPORTED_TARGET GLOBAL jack)
endif()
if(GENRED_WITH_PORTAUDIO)
    pkg_check_modules(PORTAUDIO REQUIRED IMPORTED_TARGET GLOBAL portaudio-2.0)
    # Only to silence ALSA's probing noise on machines without a sound card.
    pkg_check_modules(ALSA IMPORTED_TARGET GLOBAL alsa)
endif()
