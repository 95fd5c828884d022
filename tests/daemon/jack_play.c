/* jack_play: a test JACK client that plays a clip in a loop on one output port.
 *
 *   jack_play [-n NAME] [-f FILE] [-c PORT]...
 *
 * -n  client name (default "jack_play"); the port is NAME:out
 * -f  any file libsndfile reads, first channel, loaded whole at start;
 *     without it, a synthesised clip (a chord over a beat) at -12 dBFS
 * -c  connect NAME:out to PORT once running (repeatable)
 *
 * It runs until SIGINT/SIGTERM, or exits 3 when the server goes away, so a
 * test can tell the two apart. JACK_PLAY_RT_MALLOC=1 makes the process
 * callback allocate, which the rt_guard self-test must catch;
 * JACK_PLAY_RT_WRITE=eventfd writes 8 bytes to a non-blocking eventfd in
 * every callback (genred's wake-up, which the guard allows) and
 * JACK_PLAY_RT_WRITE=blocking the same to a blocking one (which it must
 * catch). */
#include <jack/jack.h>
#include <sndfile.h>

#include <math.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

enum { MAX_CONNECT = 8 };

typedef struct {
    jack_port_t *port;
    float *clip;
    size_t len;
    size_t pos; /* touched only by the process thread */
    int rt_malloc;
    int rt_fd; /* -1, or an eventfd to write to in the callback */
} player;

static atomic_int stop_requested;
static atomic_int server_gone;

static void on_signal(int sig)
{
    (void)sig;
    atomic_store(&stop_requested, 1);
}

static void on_shutdown(void *arg)
{
    (void)arg;
    atomic_store(&server_gone, 1);
}

static int process(jack_nframes_t nframes, void *arg)
{
    player *p = arg;
    float *out = jack_port_get_buffer(p->port, nframes);
    if (p->rt_fd >= 0) {
        uint64_t one = 1;
        if (write(p->rt_fd, &one, sizeof one) < 0) {
        }
    }
    if (p->rt_malloc) {
        /* volatile: the compiler may not elide the pair */
        void *volatile junk = malloc(64);
        free(junk);
    }
    for (jack_nframes_t i = 0; i < nframes; i++) {
        out[i] = p->clip[p->pos];
        if (++p->pos == p->len) p->pos = 0;
    }
    return 0;
}

/* Eight seconds of a C major chord with a kick-like thump each half second:
 * tonal and rhythmic, well above any silence threshold. */
static float *synthesise(double rate, size_t *len)
{
    size_t n = (size_t)(8.0 * rate);
    float *clip = malloc(n * sizeof *clip);
    if (!clip) return NULL;
    const double notes[] = {261.63, 329.63, 392.00, 523.25};
    for (size_t i = 0; i < n; i++) {
        double t = (double)i / rate, beat = fmod(t, 0.5), s = 0;
        for (size_t k = 0; k < sizeof notes / sizeof *notes; k++)
            s += sin(2 * M_PI * notes[k] * t) / 4;
        s += 1.5 * sin(2 * M_PI * 60 * beat) * exp(-beat * 20);
        clip[i] = (float)(0.25 * s);
    }
    *len = n;
    return clip;
}

/* Loads the first channel, linearly resampled to the server rate so that a
 * 22050 Hz clip does not play two octaves up on a 48 kHz server. */
static float *load(const char *path, double rate, size_t *len)
{
    SF_INFO info = {0};
    SNDFILE *sf = sf_open(path, SFM_READ, &info);
    if (!sf) {
        fprintf(stderr, "jack_play: %s: %s\n", path, sf_strerror(NULL));
        return NULL;
    }
    size_t frames = (size_t)info.frames, ch = (size_t)info.channels;
    float *raw = malloc(frames * ch * sizeof *raw);
    if (!raw || frames == 0 || (size_t)sf_readf_float(sf, raw, info.frames) != frames) {
        fprintf(stderr, "jack_play: %s: cannot read %zu frames\n", path, frames);
        sf_close(sf);
        free(raw);
        return NULL;
    }
    sf_close(sf);
    double step = info.samplerate / rate;
    size_t n = (size_t)((double)(frames - 1) / step) + 1;
    float *clip = malloc(n * sizeof *clip);
    for (size_t i = 0; clip && i < n; i++) {
        double x = (double)i * step;
        size_t j = (size_t)x;
        double frac = x - (double)j;
        float a = raw[j * ch], b = j + 1 < frames ? raw[(j + 1) * ch] : a;
        clip[i] = (float)(a + frac * (b - a));
    }
    free(raw);
    *len = n;
    return clip;
}

static int usage(void)
{
    fprintf(stderr, "usage: jack_play [-n NAME] [-f FILE] [-c PORT]...\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *name = "jack_play", *file = NULL, *connect_to[MAX_CONNECT];
    int n_connect = 0, opt;
    while ((opt = getopt(argc, argv, "n:f:c:")) != -1) {
        if (opt == 'n')
            name = optarg;
        else if (opt == 'f')
            file = optarg;
        else if (opt == 'c' && n_connect < MAX_CONNECT)
            connect_to[n_connect++] = optarg;
        else
            return usage();
    }
    if (optind != argc) return usage();

    jack_status_t status;
    jack_client_t *client = jack_client_open(name, JackNoStartServer | JackUseExactName, &status);
    if (!client) {
        fprintf(stderr, "jack_play: cannot open client '%s' (status 0x%x)\n", name,
                (unsigned)status);
        return 1;
    }
    double rate = jack_get_sample_rate(client);
    player p = {.rt_malloc = getenv("JACK_PLAY_RT_MALLOC") != NULL, .rt_fd = -1};
    const char *rt_write = getenv("JACK_PLAY_RT_WRITE");
    if (rt_write) p.rt_fd = eventfd(0, strcmp(rt_write, "eventfd") ? 0 : EFD_NONBLOCK);
    p.clip = file ? load(file, rate, &p.len) : synthesise(rate, &p.len);
    p.port = jack_port_register(client, "out", JACK_DEFAULT_AUDIO_TYPE, JackPortIsOutput, 0);
    if (!p.clip || !p.port) {
        fprintf(stderr, "jack_play: setup failed\n");
        jack_client_close(client);
        return 1;
    }
    jack_set_process_callback(client, process, &p);
    jack_on_shutdown(client, on_shutdown, NULL);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    if (jack_activate(client)) {
        fprintf(stderr, "jack_play: cannot activate\n");
        jack_client_close(client);
        return 1;
    }
    for (int i = 0; i < n_connect; i++)
        if (jack_connect(client, jack_port_name(p.port), connect_to[i]))
            fprintf(stderr, "jack_play: cannot connect to %s\n", connect_to[i]);
    fprintf(stderr, "jack_play: playing %.1f s clip at %.0f Hz on %s\n", (double)p.len / rate, rate,
            jack_port_name(p.port));

    while (!atomic_load(&stop_requested) && !atomic_load(&server_gone))
        usleep(20000);
    int gone = atomic_load(&server_gone);
    jack_client_close(client);
    free(p.clip);
    return gone ? 3 : 0;
}
