# Files libsndfile reads badly or not at all (Opus, AAC/M4A, WMA, video
# containers), made by ffmpeg in the test and decoded through FFmpeg by
# genre-classify and genred's file: input, and a tagged FLAC through
# libsndfile (test_formats.py: each title tag gives one genre.track);
# skipped without ffmpeg.
if(NOT TARGET genred OR NOT TARGET genre-classify OR NOT GENRED_WITH_FFMPEG)
    return()
endif()
genred_py_scenarios(test_formats.py genred_format_ 120 "daemon;tools" flac: opus: m4a: wma: video:)
