/* input_probe: opens one input through daemon/input.h and drains its ring,
 * printing one line per report interval, so back-ends can be tested without
 * the rest of the daemon:
 *
 *   input_probe SPEC SECONDS [CLIENT_NAME]
 *   input_probe --list-devices
 *
 *   t=1.0 state=running rate=48000 ch=2 gen=1 frames=24064 rms=0.0873 overruns=0
 *   ch_rms=0.1234,0.0000
 *
 * (one line), frames and RMS (overall, then per channel, up to MAX_CH)
 * covering that interval only. Exits 0 after SECONDS (or on
 * SIGINT/SIGTERM), 1 if the input cannot be created or started. */
#include "input.h"

#include <math.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static atomic_int stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    atomic_store(&stop_requested, 1);
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "--list-devices")) return input_list_devices();
    if (argc < 3) {
        fprintf(stderr, "usage: input_probe SPEC SECONDS [CLIENT_NAME]\n");
        return 2;
    }
    double seconds = atof(argv[2]);
    input_options opt = {.spec = argv[1], .client_name = argc > 3 ? argv[3] : "genred"};
    char err[256];
    input_t *in = input_create(&opt, err, sizeof err);
    if (!in || input_start(in, err, sizeof err)) {
        fprintf(stderr, "input_probe: %s\n", err);
        input_destroy(in);
        return 1;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);

    enum { BLOCK = 4096, MAX_CH = 8 };
    static float buf[BLOCK];
    double ch_sum_sq[MAX_CH] = {0};
    size_t pos = 0; /* sample index within the interleaved stream */
    const struct timespec pause = {0, 10 * 1000 * 1000};
    double start = now(), next_report = start + 0.5;
    double sum_sq = 0;
    size_t samples = 0;
    int said_failed = 0;
    while (!atomic_load(&stop_requested) && now() - start < seconds) {
        size_t n;
        while ((n = ring_pop(input_ring(in), buf, BLOCK)) > 0) {
            unsigned ch = input_channels(in);
            for (size_t i = 0; i < n; i++, pos++) {
                sum_sq += (double)buf[i] * buf[i];
                if (ch && ch <= MAX_CH) ch_sum_sq[pos % ch] += (double)buf[i] * buf[i];
            }
            samples += n;
        }
        if (!said_failed && input_get_state(in) == INPUT_FAILED) {
            input_error(in, err, sizeof err); /* as the daemon's pipeline logs it */
            fprintf(stderr, "input_probe: input failed: %s\n", err);
            said_failed = 1;
        }
        if (now() >= next_report) {
            unsigned ch = input_channels(in);
            printf("t=%.1f state=%s rate=%.0f ch=%u gen=%u frames=%zu rms=%.4f overruns=%llu",
                   now() - start, input_state_name(input_get_state(in)), input_rate(in), ch,
                   input_generation(in), ch ? samples / ch : 0,
                   samples ? sqrt(sum_sq / (double)samples) : 0.0,
                   (unsigned long long)ring_overruns(input_ring(in)));
            for (unsigned c = 0; c < ch && c < MAX_CH; c++) {
                printf("%s%.4f", c ? "," : " ch_rms=",
                       samples ? sqrt(ch_sum_sq[c] * ch / (double)samples) : 0.0);
                ch_sum_sq[c] = 0;
            }
            printf("\n");
            fflush(stdout);
            sum_sq = 0;
            samples = 0;
            next_report += 0.5;
        }
        nanosleep(&pause, NULL);
    }
    input_destroy(in);
    return 0;
}
