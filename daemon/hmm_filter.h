/* hmm_filter: the online forward filter of a hidden Markov model whose
 * hidden state is the genre playing, for the tracker's "hmm" change
 * decoder. Music stays in one genre for a while, so the chain is sticky:
 * every hop the genre stays with probability exp(-hop / segment) and
 * otherwise moves to any other label with equal probability. Each window's
 * model probabilities stand in for the likelihoods, raised to a power
 * below 1: windows overlap (a 3 s window every 0.5 s shares most of its
 * audio with the last), so treating each as independent evidence would
 * make the filter far too sure of itself.
 *
 * Because the transition is uniform off the diagonal, one step costs
 * O(labels) instead of a matrix product, and nothing is allocated after
 * create. */
#ifndef GENRED_HMM_FILTER_H
#define GENRED_HMM_FILTER_H

typedef struct hmm_filter hmm_filter_t;

/* n: labels. segment_s: expected time in one genre, s (> 0); hop_s: time
 * between windows, s (> 0); exponent: the likelihoods' power, in (0, 1].
 * NULL on bad arguments or out of memory. */
hmm_filter_t *hmm_filter_create(unsigned n, double segment_s, double hop_s, double exponent);
void hmm_filter_destroy(hmm_filter_t *f);

/* One window: predicts a hop ahead, weighs by raw (n probabilities) and
 * writes the filtered posterior to out (n values summing to 1). A window
 * whose likelihoods are all zero or not finite carries no evidence: out is
 * then the prediction alone. */
void hmm_filter_process(hmm_filter_t *f, const float *raw, float *out);

/* Replaces the posterior by probs (n values; normalised here), the starting
 * point for a filter that takes over from another one. All zero or not
 * finite: every label equally likely, as after create. */
void hmm_filter_prime(hmm_filter_t *f, const float *probs);

#endif
