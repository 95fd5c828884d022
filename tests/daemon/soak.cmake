# The soak (tools/soak) in short: 1 hour of audio at full speed in Release
# (about 8 s), counting every genre.probs and judging RSS growth; a quarter
# hour under ASan+UBSan (about 3 s), where RSS is not judged because the
# sanitizer's quarantine holds freed memory on purpose. The 24-hour run is by
# hand (README, Reliability). TSan's slow-down buys nothing here.
if(NOT TARGET genred OR GENRED_FLAVOUR STREQUAL "tsan")
    return()
endif()
if(GENRED_FLAVOUR STREQUAL "release")
    set(soak_args --hours 1 --rss-interval 0.25)
else()
    set(soak_args --hours 0.25 --rss-interval 0.25 --no-rss-check)
endif()
add_test(NAME genred_soak COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tools/soak
    --build ${CMAKE_BINARY_DIR} ${soak_args})
# Alone in release: at full speed its subscriber must keep up with genred,
# and beside five other tests (ctest at 3 x nproc, load 8) it fell behind
# once, so ZeroMQ's queue for it added 1.3 MB that the growth check read as
# a leak.
if(GENRED_FLAVOUR STREQUAL "release")
    set_tests_properties(genred_soak PROPERTIES RUN_SERIAL TRUE)
endif()
set_tests_properties(genred_soak PROPERTIES TIMEOUT 120 LABELS daemon
    ENVIRONMENT "GENRED_SOURCE_DIR=${CMAKE_SOURCE_DIR};GENRED_BUILD_DIR=${CMAKE_BINARY_DIR};GENRED_FLAVOUR=${GENRED_FLAVOUR}")
