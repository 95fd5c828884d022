/* input: one audio source feeding one ring buffer.
 *
 * A source is named by a spec string:
 *   portaudio[:DEVICE]            default capture device, or by name substring or index
 *   jack[:PORT[,PORT...]]         JACK client, optionally auto-connected to PORTs
 *   stdin[:FORMAT:RATE:CHANNELS]  raw interleaved PCM, FORMAT s16le|s32le|f32le
 *   file:PATH                     anything libsndfile reads
 *
 * The producer (an audio callback, or a reader thread for stdin and files)
 * writes interleaved float frames into the ring and does nothing else. The
 * pipeline thread pops them. Rate and channel count can change when a JACK
 * server comes back; the generation number then increments and the pipeline
 * resets its front-end. State and counters are atomics, read from any thread. */
#ifndef GENRED_INPUT_H
#define GENRED_INPUT_H

#include "ring.h"

#include <stddef.h>
#include <stdint.h>

typedef enum {
    INPUT_STARTING = 0,
    INPUT_RUNNING, /* audio flowing */
    INPUT_WAITING, /* server or device gone; retrying */
    INPUT_ENDED,   /* end of file or stream: no more audio will come */
    INPUT_FAILED   /* unrecoverable; see input_error() */
} input_state;

typedef struct {
    const char *spec;
    const char *client_name; /* JACK client name, e.g. "genred" or "genred-<stream>" */
    /* JACK inputs only: the client carrying this stream's ports when streams
     * share one (NULL: client_name), and what their names start with
     * ("<stream>_" gives <stream>_in_1...; NULL: in_1...). */
    const char *jack_client;
    const char *port_prefix;
    int realtime;        /* file: pace like a live source instead of full speed */
    int loop;            /* file: 0 play once, -1 forever, N > 0 play N times in all */
    double ring_seconds; /* ring capacity in seconds of input; 0 = 2 s */
} input_options;

typedef struct input input_t;

/* Parses and validates the spec, opens the source. NULL with a one-line
 * reason in err ("input 'stdin:s17le': unknown sample format 's17le'"). */
input_t *input_create(const input_options *opt, char *err, size_t err_len);
/* Checks a spec without opening the source, for --check-config and reloads:
 * a known source, a valid stdin FORMAT:RATE:CHANNELS, non-empty JACK port
 * names, a readable file. 0, or -1 with the reason input_create would give. */
int input_check_spec(const char *spec, char *err, size_t err_len);
/* Starts producing; returns 0, or -1 with err set. */
int input_start(input_t *in, char *err, size_t err_len);
/* Stops the producer and releases the source. Safe from the main thread. */
void input_destroy(input_t *in);
/* Asks a reader thread (stdin, file) to stop without waiting, so that many
 * streams stop together; input_destroy joins it. Audio-callback back-ends
 * stop in input_destroy. */
void input_request_stop(input_t *in);

ring_t *input_ring(input_t *in);
double input_rate(const input_t *in);
unsigned input_channels(const input_t *in);
unsigned input_generation(const input_t *in);
input_state input_get_state(const input_t *in);
const char *input_state_name(input_state s);
/* Samples the source itself reported as non-finite and replaced (f32 stdin). */
uint64_t input_nonfinite(const input_t *in);
/* The last error or warning ("" if none, and again "" once the source runs
 * normally after it), for logs and genre.status's `error`. */
void input_error(const input_t *in, char *buf, size_t len);
/* The last ordinary status line ("stdin: end of input"), for genre.status's
 * `note`. */
void input_note(const input_t *in, char *buf, size_t len);

/* Worker side. Waits until `want` samples are readable in the ring, the
 * input changes state or format, input_wake, or timeout_ms, whichever is
 * first. */
void input_wait(input_t *in, size_t want, int timeout_ms);
/* Any thread: ends an input_wait now (stop, reload). */
void input_wake(input_t *in);
/* Worker side: CLOCK_MONOTONIC ns at which the producer pushed sample
 * number `sample` (from 1 since the start; ask in non-decreasing order). */
int64_t input_arrival_ns(input_t *in, uint64_t sample);

/* Lists PortAudio capture devices to stdout (--list-devices). */
int input_list_devices(void);

#endif
