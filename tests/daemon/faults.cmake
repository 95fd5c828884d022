# Fault injection on the real daemon (test_faults.py, issue 9): SIGHUP
# storms, a model file rewritten during reloads, every config key wrong in
# turn, stdin cut mid-frame or stalled, a subscriber that never reads next to
# one that does. A few seconds each alone; config_keys's many genred runs
# took 93 s at a load of 23 on 2 cores, hence 240.
if(NOT TARGET genred)
    return()
endif()
genred_py_scenarios(test_faults.py genred_fault_ 240 daemon sighup_storm:threaded model_swap:threaded
    config_keys: stdin_cut: stdin_stall:threaded stalled_subscriber:)
