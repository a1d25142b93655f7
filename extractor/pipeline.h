/* pipeline.h — decode + preprocess + forward over a list of files with N worker threads,
 * records delivered in input order. It is: the batch engine behind extract-features and
 * classify. It is not: output formatting (the emit callback does that).
 */
#ifndef XF_PIPELINE_H
#define XF_PIPELINE_H

#include "base.h"

#include <signal.h>

/* Called on the calling thread, in input order, once per input. vec is NULL on failure. */
typedef xf_status (*xf_emit_fn)(void *user, size_t idx, const char *path, xf_status st,
                                const float *vec, const char *reason, xf_error *err);

typedef struct {
    int threads;        /* worker threads (>= 1), one session each          */
    int batch;          /* images per forward pass                           */
    xf_preproc pp;      /* decoding + preprocessing                          */
    xf_session_opts so; /* layers and pooling (max_batch is set to batch)    */
    xf_emit_fn emit;
    void *user;
    size_t max_failures; /* stop after this many failed inputs (0: never)     */
    size_t start;        /* first index to process (resume)                  */
    char *const *why;    /* per input: NULL, or a failure decided before reading
                            (xf_inputs.why: a FIFO, a device, a dangling link) */
    const volatile sig_atomic_t *interrupted; /* non-zero: stop after the record in hand
                                                 (a signal handler sets it); may be NULL */
} xf_pipeline_opts;

/* Returns XF_OK when every input was attempted, XF_ERR_STOPPED when max_failures stopped it,
 * XF_ERR_INTERRUPTED when *interrupted did, or the first fatal status (emit failure, out of
 * memory). *n_failed counts failed inputs. */
xf_status xf__pipeline_run(const xf_model *m, char *const *paths, size_t n,
                           const xf_pipeline_opts *o, size_t *n_failed, xf_error *err);

int xf__cpu_count(void);

#endif
