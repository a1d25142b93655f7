/* budget.c — the process's memory budget for the big, input-driven allocations (a session's
 * activation arena and scratch): $XFER_MAX_MEMORY (bytes, or with K, M, G or T; the tools'
 * --max-memory sets it) or else three quarters of the memory this process may use (the
 * machine's, or its cgroup's memory.max when lower). A model whose one image would need more
 * is refused before any image is read, with the figure; the pipeline runs fewer workers when
 * the budget holds fewer sessions.
 * It is: the budget and what is taken from it. It is not: an allocator.
 */
#include "base.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static _Atomic size_t taken;

size_t xf__memory_parse(const char *s)
{
    char *end;
    double v = strtod(s, &end);
    double mul = *end == 'K' || *end == 'k'   ? 1024.0
                 : *end == 'M' || *end == 'm' ? 1048576.0
                 : *end == 'G' || *end == 'g' ? 1073741824.0
                 : *end == 'T' || *end == 't' ? 1099511627776.0
                                              : 1.0;
    if (end == s || !(v > 0) ||
        (mul > 1 && end[1] && strcmp(end + 1, "B") && strcmp(end + 1, "iB")) || (mul == 1 && *end))
        return 0;
    v *= mul;
    return v >= 1.8e19 ? SIZE_MAX : (size_t) v;
}

size_t xf__memory_budget(void)
{
    const char *env = getenv("XFER_MAX_MEMORY");
    size_t b = env ? xf__memory_parse(env) : 0;
    if (b)
        return b;
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    double ram = pages > 0 && page > 0 ? (double) pages * (double) page : 8.0 * 1073741824.0;
    FILE *f = fopen("/sys/fs/cgroup/memory.max", "re");
    char line[64];
    if (f && fgets(line, sizeof line, f)) {
        double lim = strtod(line, NULL); /* "max" reads as 0: no limit */
        if (lim > 0 && lim < ram)
            ram = lim;
    }
    if (f)
        fclose(f);
    return (size_t) (ram * 0.75);
}

int xf__memory_take(size_t bytes)
{
    size_t budget = xf__memory_budget(), now = atomic_load(&taken);
    do
        if (bytes > budget || now > budget - bytes)
            return 0;
    while (!atomic_compare_exchange_weak(&taken, &now, now + bytes));
    return 1;
}

void xf__memory_give(size_t bytes)
{
    atomic_fetch_sub(&taken, bytes);
}

size_t xf__memory_taken(void)
{
    return atomic_load(&taken);
}
