# Pathological audio end to end (test_pathological.py): silence, DC,
# full-scale square and noise, clicks, and files at different rates.
if(NOT TARGET genred)
    return()
endif()
genred_py_scenarios(test_pathological.py genred_pathological_ 90 daemon signals:threaded rates:threaded)
