# Internet radio (test_radio.py): genred's url: input against a real Icecast
# server on loopback, fed by ffmpeg; skipped where icecast2 or ffmpeg is
# missing. The outage scenario waits out a 10 s server outage.
if(NOT TARGET genred OR NOT GENRED_WITH_FFMPEG)
    return()
endif()
genred_py_scenarios(test_radio.py genred_radio_ 150 "daemon;radio" titles:threaded
    outage:threaded many: wrong_url:threaded stall:threaded)
# The longest daemon tests (a real stream's titles and outage): started first.
set_tests_properties(genred_radio_titles genred_radio_outage genred_radio_wrong_url PROPERTIES COST 30)
