/* resources.c - what this node has, as reported at registration.
 *
 * CPUs: the ones we may run on (sched_getaffinity), so a daemon started
 * under taskset or in a cpuset reports what its jobs can use; memory:
 * MemTotal from /proc/meminfo in MiB; GPUs: `nvidia-smi -L` when it is
 * installed and answers, else the /dev/nvidia<N> device nodes.
 */
#include <glob.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "noded.h"

static int detect_cpus(void)
{
    cpu_set_t set;
    long n;

    if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
        return CPU_COUNT(&set);
    n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

static long long detect_memory_mb(void)
{
    FILE *fp = fopen("/proc/meminfo", "re");
    char line[256];
    long long kb = 0;

    if (!fp)
        return 0;
    while (fgets(line, sizeof(line), fp))
        if (sscanf(line, "MemTotal: %lld kB", &kb) == 1)
            break;
    fclose(fp);
    return kb / 1024;
}

/* nvidia-smi's path, or NULL.  $SLURMISH_NVIDIA_SMI overrides the search
 * (a site's own location, or a stand-in for tests). */
static bool find_nvidia_smi(char *path, size_t size)
{
    static const char *const dirs[] = {"/usr/bin", "/usr/local/bin", "/bin", NULL};
    const char *env = getenv("SLURMISH_NVIDIA_SMI");

    if (env && *env) {
        snprintf(path, size, "%s", env);
        return access(path, X_OK) == 0;
    }
    for (int i = 0; dirs[i]; i++) {
        snprintf(path, size, "%s/nvidia-smi", dirs[i]);
        if (access(path, X_OK) == 0)
            return true;
    }
    return false;
}

int gpus_busy(const char *ids)
{
    char path[512], line[1024];
    int busy = 0;
    FILE *fp;

    if (!ids || !*ids || !find_nvidia_smi(path, sizeof(path)))
        return -1;
    snprintf(line, sizeof(line),
             "%s --query-gpu=index,utilization.gpu --format=csv,noheader,nounits 2>/dev/null",
             path);
    if (!(fp = popen(line, "re")))
        return -1;
    while (fgets(line, sizeof(line), fp)) {
        int index, util;
        if (sscanf(line, "%d , %d", &index, &util) != 2)
            continue;
        /* is this GPU one of the step's ("0,2,3")? */
        char want[16];
        snprintf(want, sizeof(want), "%d", index);
        size_t wl = strlen(want);
        for (const char *p = ids; *p;) {
            if (!strncmp(p, want, wl) && (p[wl] == ',' || p[wl] == 0) && util >= GPU_BUSY_PERCENT)
                busy = 1;
            p = strchr(p, ',');
            if (!p)
                break;
            p++;
        }
    }
    if (pclose(fp) != 0)
        return -1;
    return busy;
}

/* Count "GPU <n>: ..." lines of `nvidia-smi -L`; -1 if it cannot tell. */
static int gpus_from_nvidia_smi(void)
{
    char path[512], line[1024];
    int count = 0;
    FILE *fp;

    if (!find_nvidia_smi(path, sizeof(path)))
        return -1;
    snprintf(line, sizeof(line), "%s -L 2>/dev/null", path);
    if (!(fp = popen(line, "re")))
        return -1;
    while (fgets(line, sizeof(line), fp))
        if (strncmp(line, "GPU ", 4) == 0)
            count++;
    if (pclose(fp) != 0)
        return -1; /* driver not loaded, no permission, ...: use the device nodes */
    return count;
}

static int gpus_from_dev(void)
{
    glob_t g;
    int n = 0;

    if (glob("/dev/nvidia[0-9]*", 0, NULL, &g) == 0)
        n = (int)g.gl_pathc;
    globfree(&g);
    return n;
}

void resources_detect(struct node_res *r)
{
    int smi;

    r->cpus = detect_cpus();
    r->memory_mb = detect_memory_mb();
    smi = gpus_from_nvidia_smi();
    r->gpus = smi >= 0 ? smi : gpus_from_dev();
}
