/* One model shared read-only by classifiers on several threads (the
 * daemon's one-classifier-per-stream setup): every thread gets exactly the
 * single-threaded answer, and ThreadSanitizer sees no race. */
#include "check.h"
#include "classifier.h"
#include "model.h"

#include <pthread.h>
#include <string.h>

#define THREADS 4
#define FRAMES  126

typedef struct {
    const model_t *m;
    const float *window;
    float probs[MODEL_MAX_LABELS];
    int ok;
} job;

static void *run(void *arg)
{
    job *j = arg;
    char err[256];
    classifier_t *c = classifier_create(j->m, FRAMES, err, sizeof err);
    if (!c) return NULL;
    for (int i = 0; i < 20; i++)
        classifier_process(c, j->window, FRAMES, j->probs);
    classifier_destroy(c);
    j->ok = 1;
    return NULL;
}

int main(void)
{
    char err[256];
    model_t *m = model_load_default(err, sizeof err);
    REQUIRE(m);
    static float window[FRAMES * 1024];
    for (size_t i = 0; i < (size_t)FRAMES * m->frontend.mfcc.n_coeffs; i++)
        window[i] = (float)((i * 2654435761u) % 2000) / 100.0f - 10.0f;

    job single = {m, window, {0}, 0};
    run(&single);
    REQUIRE(single.ok);

    job jobs[THREADS];
    pthread_t tid[THREADS];
    for (int t = 0; t < THREADS; t++) {
        jobs[t] = (job){m, window, {0}, 0};
        REQUIRE(pthread_create(&tid[t], NULL, run, &jobs[t]) == 0);
    }
    for (int t = 0; t < THREADS; t++) {
        pthread_join(tid[t], NULL);
        CHECK(jobs[t].ok);
        CHECK(!memcmp(jobs[t].probs, single.probs, m->n_labels * sizeof(float)));
    }
    model_destroy(m);
    return check_report("test_classifier_threads");
}
