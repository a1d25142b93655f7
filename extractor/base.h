/* base.h — what every file of libxfer uses: the internal assert, CPU-feature clones, error and
 * log helpers, checked size arithmetic, aligned allocation, half floats.
 *
 * It is: the bottom of the library (error.c implements it); it includes only the public header
 * and the C library. It is not installed and not a stable API.
 */
#ifndef XF_BASE_H
#define XF_BASE_H

#include "xfer.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Kept in release builds; only for our own invariants, never for input. */
#define XF_ASSERT(c)                                                                     \
    do {                                                                                 \
        if (!(c)) {                                                                      \
            fprintf(stderr, "xfer: internal error %s:%d: %s\n", __FILE__, __LINE__, #c); \
            abort();                                                                     \
        }                                                                                \
    } while (0)

/* Hot loops are compiled three times, for AVX-512, for AVX+FMA and for baseline x86-64, chosen
 * at load time by CPU features (target_clones "fma" implies AVX; "arch=" clones would test the
 * CPU model). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(XF_NO_CLONES)
#define XF_CLONES __attribute__((target_clones("avx512f", "fma", "default")))
#else
#define XF_CLONES
#endif

#if defined(__GNUC__)
#define XF_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define XF_PRINTF(a, b)
#endif

#define XF_COUNT(a) (sizeof(a) / sizeof *(a))

/* the longest input path: feature files hold paths up to this many bytes (the reader's bound;
 * the input list refuses longer ones, so nothing written is unreadable) */
#define XF_MAX_PATH_BYTES 65536
/* the largest network input side: what preprocessing makes and graphs may declare */
#define XF_MAX_INPUT_SIDE 8192

/* budget.c: the memory budget (bytes) of input-driven allocations: $XFER_MAX_MEMORY, else 3/4
 * of the machine's or the cgroup's memory; take returns 1 and counts bytes when they fit. */
size_t xf__memory_budget(void);
int xf__memory_take(size_t bytes);
void xf__memory_give(size_t bytes);
size_t xf__memory_taken(void);
size_t xf__memory_parse(const char *s); /* "8G", "512M", "1000000" -> bytes; 0: not a size */
size_t xf__session_reserved(const xf_session *s); /* session.c: what it took */

/* error.c: fills err (may be NULL) and returns code. */
xf_status xf__fail(xf_error *err, xf_status code, const char *fmt, ...) XF_PRINTF(3, 4);
/* Prefixes err->msg with "prefix: " (context chaining), returns err->code. */
xf_status xf__wrap(xf_error *err, const char *prefix);
void xf__log(xf_log_level level, const char *fmt, ...) XF_PRINTF(2, 3);

/* Overflow-checked arithmetic on sizes: return 0 on overflow. */
int xf__mul_size(size_t a, size_t b, size_t *out);
int xf__add_size(size_t a, size_t b, size_t *out);

/* Allocation of 64-byte aligned zeroed memory; NULL on failure. Free with free(). */
void *xf__alloc(size_t n);

/* F16 -> F32 */
float xf__f16_to_f32(uint16_t h);

#endif /* XF_BASE_H */
