/* train_run: one whole training run, as genre-train does it: the corpus and
 * its features, the optimisation, the int8 model (fine-tuned for int8 when
 * quantisation costs accuracy), the model file and the report. */
#ifndef GENRED_TRAIN_RUN_H
#define GENRED_TRAIN_RUN_H

#include "train_options.h"

/* argv goes into metrics.json as the command. Exit status: 0, 1 (the run
 * failed), 2 (bad input). Errors are printed. */
int train_run(train_opts *o, int argc, char **argv);

#endif
