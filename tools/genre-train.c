/* genre-train: trains a genre model on MFCC windows of labelled clips from
 * any number of datasets, with the front end the daemon runs, and writes
 * the int8 model and its report. The work is the trainer library's
 * (tools/train/); this is its command line. */
#include "train_options.h"
#include "train_run.h"

int main(int argc, char **argv)
{
    train_opts o;
    int rc = train_options_parse(argc, argv, &o);
    if (rc) return rc == 1 ? 0 : rc;
    return train_run(&o, argc, argv);
}
