/* resampler: interleaved multi-channel audio at any rate in, mono at the
 * model's rate out.
 *
 * Channels are mixed down first by a plain average (sum / channels), so a
 * full-scale signal on every channel stays full scale, then a polyphase
 * Kaiser-windowed sinc filter converts the rate (resampler.c says why not
 * liquid-dsp's resamplers). Streaming: the output
 * does not depend on how the input is split into blocks. */
#ifndef GENRED_RESAMPLER_H
#define GENRED_RESAMPLER_H

#include "simd.h"

#include <stddef.h>
#include <stdint.h>

typedef struct resampler resampler_t;

/* in_rate 8000..192000 Hz, out_rate 8000..192000 Hz, channels 1..64.
 * On bad parameters returns NULL and writes a one-line reason to err. */
resampler_t *resampler_create(double in_rate, double out_rate, unsigned channels, char *err,
                              size_t err_len);
/* The same on the kernels of `level` (vec_ops_for), for tests and
 * benchmarks comparing levels; resampler_create takes simd_level_get(). */
resampler_t *resampler_create_at(double in_rate, double out_rate, unsigned channels,
                                 simd_level level, char *err, size_t err_len);
void resampler_destroy(resampler_t *rs);

/* Upper bound of output samples for `frames` input frames, for sizing buffers. */
size_t resampler_max_output(const resampler_t *rs, size_t frames);

/* Consumes `frames` interleaved frames; writes at most resampler_max_output()
 * mono samples to out and returns how many were written. */
size_t resampler_process(resampler_t *rs, const float *in, size_t frames, float *out);

/* Input frames to consume from now until `outputs` more outputs have been
 * written (those the filter delay still drops first included): exactly,
 * from the filter's phase, so a caller waiting for that much input is
 * woken by the block that completes them. */
uint64_t resampler_input_for(const resampler_t *rs, uint64_t outputs);

/* Non-finite input samples replaced by 0 so far (finite samples beyond
 * +-1e6 are clamped so no later sum can overflow). */
uint64_t resampler_nonfinite_count(const resampler_t *rs);

/* Forget all history, as if just created. */
void resampler_reset(resampler_t *rs);

#endif
