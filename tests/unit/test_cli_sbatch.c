/* test_cli_sbatch.c - unit tests for cli/sbatch_opt.c: option values,
 * bad values naming the option, and the override order (command line
 * over #SBATCH directives). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cliutil.h"
#include "cli/sbatch_opt.h"
#include "conf/conf.h"

#define ARGC(a) ((int)(sizeof(a) / sizeof(a[0])) - 1)

START_TEST(test_values)
{
    struct sbatch_opts o;
    sl_error_t err;
    char *argv[] = {"sbatch",     "-J",          "job", "-p",        "gpu",
                    "-N",         "2-4",         "-n",  "8",         "-c",
                    "2",          "--mem=4G",    "-t",  "1:30:00",   "-o",
                    "out.%j",     "-e",          "err", "-i",        "in",
                    "-D",         "/tmp",        "-A",  "acct",      "--comment=hello",
                    "--parsable", "-Q",          "-H",  "script.sh", "arg1",
                    "-J",         "notanoption", NULL};
    int idx;

    sbatch_opts_init(&o);
    idx = sbatch_opt_parse(&o, ARGC(argv), argv, &err);
    ck_assert_int_eq(idx, 28);
    ck_assert_str_eq(argv[idx], "script.sh");
    ck_assert_str_eq(o.job_name, "job");
    ck_assert_str_eq(o.partition, "gpu");
    ck_assert_int_eq(o.nodes, 2);
    ck_assert_int_eq(o.ntasks, 8);
    ck_assert_int_eq(o.cpus_per_task, 2);
    ck_assert(o.mem_set);
    ck_assert_int_eq(o.mem_mb, 4096);
    ck_assert_int_eq(o.time_limit, 5400);
    ck_assert_str_eq(o.output, "out.%j");
    ck_assert_str_eq(o.error, "err");
    ck_assert_str_eq(o.input, "in");
    ck_assert_str_eq(o.chdir, "/tmp");
    ck_assert_str_eq(o.account, "acct");
    ck_assert_str_eq(o.comment, "hello");
    ck_assert(o.parsable && o.quiet && o.hold);
    sbatch_opts_clear(&o);
}
END_TEST

START_TEST(test_defaults)
{
    struct sbatch_opts o;
    sl_error_t err;
    char *argv[] = {"sbatch", "--wrap=hostname", NULL};

    sbatch_opts_init(&o);
    ck_assert_int_eq(sbatch_opt_parse(&o, ARGC(argv), argv, &err), 2);
    ck_assert_str_eq(o.wrap, "hostname");
    ck_assert_int_eq(o.nodes, -1);
    ck_assert_int_eq(o.time_limit, SL_TIME_UNSET);
    ck_assert(!o.mem_set);
    ck_assert_ptr_null(o.partition);
    sbatch_opts_clear(&o);
}
END_TEST

START_TEST(test_bad_values)
{
    struct sbatch_opts o;
    sl_error_t err;
    char *a1[] = {"sbatch", "-N", "two", NULL};
    char *a2[] = {"sbatch", "--ntasks=0", NULL};
    char *a3[] = {"sbatch", "-t", "soon", NULL};
    char *a4[] = {"sbatch", "--mem=lots", NULL};
    char *a5[] = {"sbatch", "-N", "4-2", NULL};

    sbatch_opts_init(&o);
    ck_assert_int_eq(sbatch_opt_parse(&o, ARGC(a1), a1, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.text, "--nodes"));
    ck_assert_int_eq(sbatch_opt_parse(&o, ARGC(a2), a2, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.text, "--ntasks"));
    ck_assert_int_eq(sbatch_opt_parse(&o, ARGC(a3), a3, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.text, "--time"));
    ck_assert_int_eq(sbatch_opt_parse(&o, ARGC(a4), a4, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.text, "--mem"));
    ck_assert_int_eq(sbatch_opt_parse(&o, ARGC(a5), a5, &err), -1);
    sbatch_opts_clear(&o);
}
END_TEST

START_TEST(test_override_order)
{
    /* Directives first, then the command line: the command line wins,
     * and directive values it does not mention survive. */
    const char *script = "#!/bin/sh\n#SBATCH -J fromscript -p cpu\n#SBATCH --time=5\n"
                         "#SBATCH -n 3\nsrun hostname\n#SBATCH -p late\n";
    char *cl[] = {"sbatch", "-p", "gpu", "--time=1-00:00:00", "job.sh", NULL};
    struct sbatch_opts o;
    sl_error_t err;
    char **dargv;
    int dargc = cli_sbatch_directives(script, "sbatch", &dargv, &err);

    ck_assert_int_gt(dargc, 1);
    sbatch_opts_init(&o);
    ck_assert_int_eq(sbatch_opt_parse(&o, dargc, dargv, &err), dargc);
    ck_assert_str_eq(o.partition, "cpu");
    ck_assert_int_eq(o.time_limit, 300);
    ck_assert_int_eq(sbatch_opt_parse(&o, ARGC(cl), cl, &err), 4);
    ck_assert_str_eq(o.partition, "gpu");
    ck_assert_int_eq(o.time_limit, 86400);
    ck_assert_str_eq(o.job_name, "fromscript");
    ck_assert_int_eq(o.ntasks, 3);
    sbatch_opts_clear(&o);
    cli_argv_free(dargv);
}
END_TEST

START_TEST(test_env)
{
    struct sbatch_opts o;
    sl_error_t err;
    char *cl[] = {"sbatch", "-J", "cl", NULL};

    sbatch_opts_init(&o);
    setenv("SBATCH_PARTITION", "envpart", 1);
    setenv("SBATCH_JOB_NAME", "envname", 1);
    setenv("SBATCH_TIMELIMIT", "2:00", 1);
    ck_assert_int_eq(sbatch_opt_env(&o, &err), 0);
    ck_assert_str_eq(o.partition, "envpart");
    ck_assert_int_eq(o.time_limit, 120);
    ck_assert_int_eq(sbatch_opt_parse(&o, ARGC(cl), cl, &err), 3);
    ck_assert_str_eq(o.job_name, "cl"); /* command line beats the environment */
    ck_assert_str_eq(o.partition, "envpart");
    setenv("SBATCH_TIMELIMIT", "never", 1);
    ck_assert_int_eq(sbatch_opt_env(&o, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.text, "SBATCH_TIMELIMIT"));
    unsetenv("SBATCH_TIMELIMIT");
    sbatch_opts_clear(&o);

    /* flags and the newer variables */
    setenv("SBATCH_EXCLUSIVE", "1", 1);
    setenv("SBATCH_NO_REQUEUE", "yes", 1);
    setenv("SBATCH_WAIT", "0", 1); /* "0": not set */
    setenv("SBATCH_GRES", "gpu:a10:2", 1);
    setenv("SBATCH_ARRAY_INX", "0-9%2", 1);
    ck_assert_int_eq(sbatch_opt_env(&o, &err), 0);
    ck_assert(o.exclusive);
    ck_assert_int_eq(o.requeue, 0);
    ck_assert(!o.wait);
    ck_assert_int_eq(o.gpus_per_node, 2);
    ck_assert_str_eq(o.gpu_type, "a10");
    ck_assert_str_eq(o.array, "0-9%2");
    setenv("SBATCH_GRES", "gpu:x:y", 1);
    ck_assert_int_eq(sbatch_opt_env(&o, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.text, "SBATCH_GRES"));
    unsetenv("SBATCH_EXCLUSIVE");
    unsetenv("SBATCH_NO_REQUEUE");
    unsetenv("SBATCH_WAIT");
    unsetenv("SBATCH_GRES");
    unsetenv("SBATCH_ARRAY_INX");
    sbatch_opts_clear(&o);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("cli_sbatch");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_values);
    tcase_add_test(tc, test_defaults);
    tcase_add_test(tc, test_bad_values);
    tcase_add_test(tc, test_override_order);
    tcase_add_test(tc, test_env);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
