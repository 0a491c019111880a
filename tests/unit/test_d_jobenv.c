/* test_d_jobenv.c - slurmish-d's output file patterns and job environment. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "slurmish-d/noded.h"

static const struct pattern_ctx plain = {
    .job_id = 42,
    .job_name = "train",
    .user = "alice",
    .node = "cpu1",
};
static const struct pattern_ctx task = {
    .job_id = 107,
    .job_name = "sweep",
    .user = "bob",
    .node = "gpu3",
    .array_job_id = 100,
    .array_task_id = 7,
};

static void check_expand(const struct pattern_ctx *pc, const char *pat, const char *want)
{
    char *got = expand_pattern(pat, pc);
    ck_assert_msg(strcmp(got, want) == 0, "\"%s\" gave \"%s\", want \"%s\"", pat, got, want);
    free(got);
}

START_TEST(test_patterns)
{
    check_expand(&plain, "slurm-%j.out", "slurm-42.out");
    check_expand(&plain, "%x-%u-%N.log", "train-alice-cpu1.log");
    check_expand(&plain, "/out/%5j.txt", "/out/00042.txt");
    check_expand(&plain, "%n.%t.%2n", "0.0.00");
    check_expand(&plain, "100%%-%j", "100%-42");
    check_expand(&plain, "%%j", "%j");
    /* not an array: %A is the job id, %a Slurm's NO_VAL */
    check_expand(&plain, "%A_%a", "42_4294967294");
    check_expand(&plain, "%s", "4294967291");
    check_expand(&plain, "%J", "42.4294967291");
    /* widths above 10 are capped at 10, as Slurm does */
    check_expand(&plain, "%99j", "0000000042");
    check_expand(&plain, "%10j", "0000000042");
    /* unknown specifiers and a trailing % stay as written */
    check_expand(&plain, "a%qb", "a%qb");
    check_expand(&plain, "a%3qb", "a%3qb");
    check_expand(&plain, "end%", "end%");
    check_expand(&plain, "end%4", "end%4");
    /* a backslash turns expansion off; the backslashes go */
    check_expand(&plain, "lit\\%j", "lit%j");
    check_expand(&plain, "", "");
}
END_TEST

START_TEST(test_array_patterns)
{
    check_expand(&task, "slurm-%A_%a.out", "slurm-100_7.out");
    check_expand(&task, "%j", "107");
    check_expand(&task, "%3a-%b", "007-7");
    struct pattern_ctx t2 = task;
    t2.array_task_id = 23;
    check_expand(&t2, "%b", "3");
}
END_TEST

static const char *env_get(char **envp, const char *key)
{
    size_t n = strlen(key);
    const char *found = NULL;
    for (char **e = envp; *e; e++)
        if (strncmp(*e, key, n) == 0 && (*e)[n] == '=') {
            ck_assert_msg(!found, "%s set twice", key);
            found = *e + n + 1;
        }
    return found;
}

START_TEST(test_env)
{
    json_t *env = json_pack("[s, s, s, s, s, i, s, s]", "PATH=/usr/bin:/bin", "SLURM_JOB_ID=42",
                            "SLURMD_NODENAME=wrong", "SLURM_CPUS_ON_NODE=99", "HOME=/home/alice", 7,
                            "garbage-without-equals", "SLURM_CONF=/etc/slurm/slurm.conf");
    struct env_ctx ec = {.node = "cpu1", .cpus = 4, .pid = 1234, .conf_path = "/etc/s.yaml"};
    char **envp = job_env_build(env, &ec);

    ck_assert_str_eq(env_get(envp, "PATH"), "/usr/bin:/bin");
    ck_assert_str_eq(env_get(envp, "SLURM_JOB_ID"), "42");
    ck_assert_str_eq(env_get(envp, "HOME"), "/home/alice");
    ck_assert_str_eq(env_get(envp, "SLURMD_NODENAME"), "cpu1");
    ck_assert_str_eq(env_get(envp, "SLURM_CPUS_ON_NODE"), "4");
    ck_assert_str_eq(env_get(envp, "SLURM_NODEID"), "0");
    ck_assert_str_eq(env_get(envp, "SLURM_PROCID"), "0");
    ck_assert_str_eq(env_get(envp, "SLURM_LOCALID"), "0");
    ck_assert_str_eq(env_get(envp, "SLURM_TASK_PID"), "1234");
    ck_assert_str_eq(env_get(envp, "SLURM_TOPOLOGY_ADDR"), "cpu1");
    ck_assert_str_eq(env_get(envp, "ENVIRONMENT"), "BATCH");
    ck_assert_str_eq(env_get(envp, "SLURMISH_CONF"), "/etc/s.yaml");
    ck_assert_ptr_null(env_get(envp, "SLURM_CONF"));
    for (char **e = envp; *e; e++)
        ck_assert_msg(strchr(*e, '='), "entry without '=': %s", *e);
    size_t count = 0;
    while (envp[count])
        count++;
    ck_assert_uint_eq(count, 3 + 9); /* PATH, SLURM_JOB_ID, HOME + the node's nine */
    job_env_free(envp);
    json_decref(env);
}
END_TEST

START_TEST(test_env_empty)
{
    struct env_ctx ec = {.node = "n1", .cpus = 1, .pid = 5, .conf_path = NULL};
    char **envp = job_env_build(NULL, &ec);
    ck_assert_str_eq(env_get(envp, "SLURMD_NODENAME"), "n1");
    ck_assert_ptr_null(env_get(envp, "SLURMISH_CONF"));
    job_env_free(envp);
    job_env_free(NULL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("d_jobenv");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_patterns);
    tcase_add_test(tc, test_array_patterns);
    tcase_add_test(tc, test_env);
    tcase_add_test(tc, test_env_empty);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
