# Real-time back-end tests (JACK, PortAudio): a JACK server per test, real
# clients, real callbacks. See jackenv.py.
# Debian's python3 (python3-zmq, numpy), not whatever python3 is first on PATH.
set(GENRED_PYTHON /usr/bin/python3)
if(NOT GENRED_WITH_JACK OR NOT GENRED_WITH_PORTAUDIO)
    message(STATUS "genred: JACK and PortAudio tests need GENRED_WITH_JACK and "
        "GENRED_WITH_PORTAUDIO; not built")
    return()
endif()

# A test JACK client playing a clip in a loop.
add_executable(jack_play jack_play.c)
target_link_libraries(jack_play PRIVATE PkgConfig::JACK PkgConfig::SNDFILE m)
set_target_properties(jack_play PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)

# Drives one input through daemon/input.h and reports what reaches the ring.
add_executable(input_probe input_probe.c)
target_link_libraries(input_probe PRIVATE genred_input m)
set_target_properties(input_probe PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)

# ASan and TSan interpose malloc and locks themselves, so the guard is a
# release-only tool.
if(GENRED_FLAVOUR STREQUAL "release")
    add_library(rt_guard MODULE rt_guard.c)
    target_link_libraries(rt_guard PRIVATE PkgConfig::JACK PkgConfig::PORTAUDIO ${CMAKE_DL_LIBS})
    set_target_properties(rt_guard PROPERTIES PREFIX "" LIBRARY_OUTPUT_DIRECTORY
        ${CMAKE_BINARY_DIR}/tests)
    # It defines libc's own functions (malloc, write, ...) to interpose
    # them; their prototypes are libc's, some only in headers it must not
    # include.
    target_compile_options(rt_guard PRIVATE -Wno-missing-prototypes)
    # A PortAudio whose Pa_OpenStream never returns (PortAudio's own
    # prototype is the one it defines).
    add_library(pa_stuck MODULE pa_stuck.c)
    target_link_libraries(pa_stuck PRIVATE PkgConfig::PORTAUDIO)
    set_target_properties(pa_stuck PROPERTIES PREFIX "" LIBRARY_OUTPUT_DIRECTORY
        ${CMAKE_BINARY_DIR}/tests)
endif()

# Each of these tests runs its own jackd, and libjack refuses to start a
# server past a fixed number of them at once ("Too many servers already
# active", seen at ctest -j6): each takes one of the four slots that
# jackd_slots.json declares (tools/dev passes it: ctest
# --resource-spec-file tests/daemon/jackd_slots.json).
function(genred_jackd_slot)
    set_tests_properties(${ARGN} PROPERTIES RESOURCE_GROUPS "jackd:1")
endfunction()

function(genred_jack_test name script labels)
    add_test(NAME ${name} COMMAND ${GENRED_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/${script})
    # Deadlines inside are generous for a loaded machine (jackenv.py).
    set_tests_properties(${name} PROPERTIES TIMEOUT 180 LABELS "${labels}" SKIP_RETURN_CODE 77
        ENVIRONMENT "GENRED_SOURCE_DIR=${CMAKE_SOURCE_DIR};GENRED_BUILD_DIR=${CMAKE_BINARY_DIR};GENRED_FLAVOUR=${GENRED_FLAVOUR}")
    genred_jackd_slot(${name})
endfunction()

genred_jack_test(jack_input test_jack_input.py "jack;threaded")
genred_jack_test(jack_restart test_jack_restart.py "jack;threaded")
genred_jack_test(portaudio_input test_portaudio_input.py "jack;threaded")
if(GENRED_FLAVOUR STREQUAL "release")
    genred_jack_test(rt_guard test_rt_guard.py "jack")
    if(TARGET genred)
        genred_jack_test(portaudio_stuck test_portaudio_stuck.py "jack;daemon")
    endif()
endif()

# The same back-ends inside the real daemon, checked over ZeroMQ.
if(TARGET genred)
    genred_py_scenarios(test_genred_jack.py genred_live_ 180 "jack;daemon"
        jack_and_portaudio:threaded jack_restart:threaded portaudio_gone:threaded
        jack_shared_restart:threaded jack_per_stream:threaded)
    genred_jackd_slot(genred_live_jack_and_portaudio genred_live_jack_restart
        genred_live_portaudio_gone genred_live_jack_shared_restart genred_live_jack_per_stream)
endif()

# README's Node subscriber example; skipped without node and its npm binding.
if(TARGET genred)
    add_test(NAME node_subscriber COMMAND ${GENRED_PYTHON}
        ${CMAKE_CURRENT_SOURCE_DIR}/test_node_subscriber.py)
    set_tests_properties(node_subscriber PROPERTIES TIMEOUT 60 LABELS daemon SKIP_RETURN_CODE 77
        ENVIRONMENT "GENRED_SOURCE_DIR=${CMAKE_SOURCE_DIR};GENRED_BUILD_DIR=${CMAKE_BINARY_DIR};GENRED_FLAVOUR=${GENRED_FLAVOUR}")
endif()
