/* salloc - obtain an allocation, run a command (the user's shell by
 * default) with its SLURM_* environment, and release it when the
 * command exits.  Options are sbatch's. */
#include <errno.h>
#include <libgen.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cliutil.h"
#include "common.h"
#include "sbatch_opt.h"
#include "session.h"
#include "util/xmalloc.h"

static void usage(FILE *out)
{
    fprintf(out, "Usage: salloc [OPTIONS(0)...] [command(0) [args(0)...]]\n");
}

static void help(void)
{
    usage(stdout);
    printf("\n"
           "Allocate resources, run command (default: your shell) with the allocation's\n"
           "SLURM_* variables, and release the allocation when it exits.  Inside,\n"
           "`srun CMD` runs CMD on the allocated nodes and `srun --pty bash` gives a\n"
           "shell there.  The options are sbatch's; SBATCH_* variables apply too.\n"
           "\n");
    sbatch_opt_help(stdout);
}

static const char *user_shell(void)
{
    const char *sh = getenv("SHELL");
    struct passwd *pw;
    if (sh && *sh)
        return sh;
    pw = getpwuid(getuid());
    return pw && pw->pw_shell && *pw->pw_shell ? pw->pw_shell : "/bin/sh";
}

int main(int argc, char **argv)
{
    struct sbatch_opts opts;
    sl_error_t err;
    int idx, status = 0;
    pid_t child;
    long long id;
    json_t *env, *v;
    size_t i;

    cli_init("salloc");
    argv[0] = (char *)cli_prog;
    sbatch_opts_init(&opts);
    if (sbatch_opt_env(&opts, &err) < 0) {
        cli_error("%s", err.text);
        return 1;
    }
    if ((idx = sbatch_opt_parse(&opts, argc, argv, &err)) < 0) {
        if (err.text[0])
            cli_error("%s", err.text);
        return 1;
    }
    if (opts.help) {
        help();
        exit(0);
    }
    if (opts.usage) {
        usage(stdout);
        exit(0);
    }
    if (opts.version) {
        cli_print_version();
        exit(0);
    }
    char *shell_argv[] = {(char *)user_shell(), NULL};
    char **cmd = idx < argc ? &argv[idx] : shell_argv;
    char *base = xstrdup(cmd[0]);
    id = alloc_create(&opts, idx < argc ? basename(base) : "interactive", cmd[0], true);
    free(base);
    if (id < 0)
        return 1;
    if (!(env = alloc_env(id))) {
        cli_error("cannot read the environment of job allocation %lld", id);
        alloc_release(id, 1, 0);
        return 1;
    }
    json_array_foreach(env, i, v)
    {
        const char *kv = json_string_value(v);
        const char *eq = kv ? strchr(kv, '=') : NULL;
        if (eq) {
            char *k = strndup(kv, (size_t)(eq - kv));
            setenv(k, eq + 1, 1);
            free(k);
        }
    }
    json_decref(env);

    /* the command gets the terminal's signals; we wait for it */
    signal(SIGINT, SIG_IGN);
    signal(SIGQUIT, SIG_IGN);
    signal(SIGTSTP, SIG_IGN);
    fflush(NULL);
    if ((child = fork()) == 0) {
        signal(SIGINT, SIG_DFL);
        signal(SIGQUIT, SIG_DFL);
        signal(SIGTSTP, SIG_DFL);
        execvp(cmd[0], cmd);
        fprintf(stderr, "salloc: error: %s: %s\n", cmd[0], strerror(errno));
        _exit(errno == ENOENT ? 127 : 126);
    }
    bool revoked = false, warned = false;
    for (int tick = 0;; tick++) {
        pid_t w = waitpid(child, &status, WNOHANG);
        if (w == child || (w < 0 && errno != EINTR))
            break;
        if (tick % 5 == 4 && !revoked) {
            long long idle_warned = 0;
            char *state = alloc_state(id, &idle_warned);
            if (state && strcmp(state, "RUNNING") != 0) {
                fprintf(stderr, "salloc: Job allocation %lld has been revoked.\n", id);
                revoked = true;
                kill(child, SIGHUP);
                kill(child, SIGTERM);
            } else if (idle_warned && !warned) {
                fprintf(stderr, "salloc: warning: job allocation %lld has been idle too long; "
                                "it will be ended unless it is used\n", id);
                warned = true;
            } else if (!idle_warned) {
                warned = false;
            }
            free(state);
        }
        usleep(200000);
    }
    if (!revoked) {
        fprintf(stderr, "salloc: Relinquishing job allocation %lld\n", id);
        alloc_release(id, WIFEXITED(status) ? WEXITSTATUS(status) : 0,
                      WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    }
    sbatch_opts_clear(&opts);
    cli_fini();
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
