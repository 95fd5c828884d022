/* pa_stuck.so (LD_PRELOAD): a PortAudio whose Pa_OpenStream never returns,
 * as PortAudio's JACK host API does when jackd never runs its client (seen
 * beside a CPU hog; see daemon/input_portaudio.c). Everything else is the
 * real library. test_portaudio_stuck.py runs genred on it. */
#include <portaudio.h>
#include <unistd.h>

PaError Pa_OpenStream(PaStream **stream, const PaStreamParameters *in,
                      const PaStreamParameters *out, double rate, unsigned long frames,
                      PaStreamFlags flags, PaStreamCallback *callback, void *user)
{
    (void)stream;
    (void)in;
    (void)out;
    (void)rate;
    (void)frames;
    (void)flags;
    (void)callback;
    (void)user;
    for (;;)
        pause();
}
