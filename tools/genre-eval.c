/* genre-eval: scores a model on labelled datasets, window and clip level
 * (the clip verdict is the mean of its window probabilities), per source;
 * with --events, how its genre.change announcements would fare on a
 * playlist whose genre changes every 30 s. */
#include "cli.h"
#include "eval_run.h"

int main(int argc, char **argv)
{
    eval_opts o;
    int rc = eval_options_parse(argc, argv, &o);
    if (rc) return rc == 1 ? 0 : rc;
    return eval_run(&o);
}
