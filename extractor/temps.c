/* temps.c — the temporary files this process is writing (xf_out's OUT.tmp.*, finetune's cache
 * part): removed when a fatal signal (SIGTERM, SIGINT, SIGHUP) ends the process, and those of
 * killed runs (SIGKILL, a crash: no handler runs) removed by the next run writing the same
 * output, so they never pile up. A temporary name carries this host and process id
 * (OUT.tmp.HOST.PID.XXXXXX); only dead processes' files of this host are removed, never a
 * live writer's, never one on another node of a shared file system.
 * It is: the registry and the clean-up. It is not: the writing (io.c).
 */
#include "io.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SLOTS 32

static char slot[SLOTS][4096];
static volatile sig_atomic_t used[SLOTS];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

void xf__temp_add(const char *path)
{
    if (strlen(path) >= sizeof slot[0])
        return;
    pthread_mutex_lock(&lock);
    for (int i = 0; i < SLOTS; i++)
        if (!used[i]) {
            memcpy(slot[i], path, strlen(path) + 1);
            used[i] = 1;
            break;
        }
    pthread_mutex_unlock(&lock);
}

void xf__temp_forget(const char *path)
{
    pthread_mutex_lock(&lock);
    for (int i = 0; i < SLOTS; i++)
        if (used[i] && strcmp(slot[i], path) == 0) {
            used[i] = 0;
            break;
        }
    pthread_mutex_unlock(&lock);
}

void xf__temps_unlink_all(void)
{
    for (int i = 0; i < SLOTS; i++) /* async-signal-safe: no lock, no allocation */
        if (used[i])
            unlink(slot[i]);
}

void xf__temp_host(char *out, size_t size)
{
    char h[256] = "";
    gethostname(h, sizeof h - 1);
    size_t n = 0;
    for (const char *p = h; *p && *p != '.' && n + 1 < size && n < 32; p++)
        out[n++] = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                           (*p >= '0' && *p <= '9') || *p == '-'
                       ? *p
                       : '_';
    if (n == 0 && size > 1)
        out[n++] = '_';
    out[n] = 0;
}

void xf__temps_clean_stale(const char *path)
{
    char *d = strdup(path), *b = strdup(path), host[40], prefix[4200];
    if (!d || !b) {
        free(d), free(b);
        return;
    }
    xf__temp_host(host, sizeof host);
    int pl = snprintf(prefix, sizeof prefix, "%s.tmp.%s.", basename(b), host);
    int dfd = open(dirname(d), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *dir = dfd >= 0 ? fdopendir(dfd) : NULL;
    struct dirent *e;
    while (dir && pl > 0 && (size_t) pl < sizeof prefix && (e = readdir(dir))) {
        if (strncmp(e->d_name, prefix, (size_t) pl) != 0)
            continue;
        char *end;
        long pid = strtol(e->d_name + pl, &end, 10);
        struct stat st;
        if (end == e->d_name + pl || *end != '.' || pid <= 0 || pid == (long) getpid() ||
            kill((pid_t) pid, 0) == 0 || errno != ESRCH)
            continue; /* not ours to judge, or its writer is alive */
        if (fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
            unlinkat(dfd, e->d_name, 0);
    }
    if (dir)
        closedir(dir);
    else if (dfd >= 0)
        close(dfd);
    free(d), free(b);
}
