/* fuzz_sbatch.c - a batch script's #SBATCH directives as sbatch reads
 * them: cli_sbatch_directives() splits the directive lines into words,
 * sbatch_opt_parse() applies them as options (time, memory, counts, gres,
 * --signal, --begin, ...), and sbatch_opts_to_body() makes the
 * submit_job body, as cli/sbatch.c does.
 *
 * Properties checked beyond "no crash, no leak": the argument vector is
 * NULL-terminated with argv[0] the program name, and the parser stops
 * within it.
 */
#include "config.h"

#include <getopt.h>
#include <jansson.h>

#include "cli/cliutil.h"
#include "cli/sbatch_opt.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* sbatch refuses a script with a NUL in it: the text ends there */
    char *script = fuzz_cstr(data, size);
    char **argv = NULL;
    sl_error_t err;
    struct sbatch_opts o;

    int argc = cli_sbatch_directives(script, "sbatch", &argv, &err);
    if (argc < 0) {
        if (argv)
            FUZZ_BUG("cli_sbatch_directives failed but returned a vector");
        free(script);
        return 0;
    }
    if (argc < 1 || !argv || strcmp(argv[0], "sbatch") || argv[argc])
        FUZZ_BUG("cli_sbatch_directives returned a bad vector (argc %d)", argc);

    opterr = 0; /* getopt's complaints about unknown options would flood the log */
    sbatch_opts_init(&o);
    int end = sbatch_opt_parse(&o, argc, argv, &err);
    if (end > argc)
        FUZZ_BUG("sbatch_opt_parse stopped at %d of %d arguments", end, argc);
    if (end >= 0) {
        json_t *body = json_object();
        sbatch_opts_to_body(&o, body);
        char *s = json_dumps(body, JSON_COMPACT);
        if (!s)
            FUZZ_BUG("the submit_job body does not encode");
        free(s);
        json_decref(body);
    }
    sbatch_opts_clear(&o);
    cli_argv_free(argv);
    free(script);
    return 0;
}
