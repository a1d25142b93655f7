/* pipeline.c — multi-threaded decode + forward with in-order delivery.
 *
 * It is: a ring of 2*threads batch slots, slot i serving batches i, i+n, ... in turn; workers
 * claim batches in order, wait for their slot's turn, decode their images
 * (failures recorded per item), run one forward pass over the successful ones and mark the
 * slot done; the calling thread emits slots strictly in batch order, so output bytes do not
 * depend on the thread count. Memory is bounded by the ring, whatever the number of inputs.
 * It is not: output formatting or argument parsing.
 */
#include "pipeline.h"
#include "gemm.h"
#include "model.h"

#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>

enum { SLOT_EMPTY, SLOT_BUSY, SLOT_DONE };

typedef struct {
    int state;
    size_t batch_idx;
    size_t turn; /* the only batch that may take this slot next: slot i serves i, i+n, i+2n... */
    float *in, *out;
    xf_status *st;
    char (*reason)[512];
} slot;

typedef struct {
    const xf_model *m;
    char *const *paths;
    size_t n, n_batches, next;
    const xf_pipeline_opts *o;
    slot *slots;
    int n_slots;
    int stop;
    xf_status fatal;
    xf_error fatal_err;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int64_t dim;
    size_t in_len;
} pipe_t;

int xf__cpu_count(void)
{
    cpu_set_t set;
    int n = 0;
    if (sched_getaffinity(0, sizeof set, &set) == 0)
        n = CPU_COUNT(&set);
    if (n < 1)
        n = (int) sysconf(_SC_NPROCESSORS_ONLN);
    /* cgroup v2 quota */
    FILE *f = fopen("/sys/fs/cgroup/cpu.max", "r");
    if (f) {
        char q[32];
        long period;
        if (fscanf(f, "%31s %ld", q, &period) == 2 && strcmp(q, "max") != 0 && period > 0) {
            long quota = atol(q);
            int lim = (int) ((quota + period - 1) / period);
            if (lim >= 1 && lim < n)
                n = lim;
        }
        fclose(f);
    }
    return n < 1 ? 1 : n;
}

static void process(pipe_t *p, xf_session *sess, slot *s, size_t b)
{
    const xf_pipeline_opts *o = p->o;
    size_t first = o->start + b * (size_t) o->batch;
    int cnt = (int) (p->n - first < (size_t) o->batch ? p->n - first : (size_t) o->batch);
    int ok_idx[4096], n_ok = 0;
    for (int i = 0; i < cnt; i++) {
        xf_error e;
        float *dst = s->in + (size_t) n_ok * p->in_len;
        xf_preproc pp = o->pp; /* augmentation: a seed per image, whatever thread runs it */
        pp.aug_seed = o->pp.aug_seed * 0x9E3779B97F4A7C15ull + (uint64_t) (first + (size_t) i);
        const char *why = o->why ? o->why[first + (size_t) i] : NULL;
        if (why) {
            s->st[i] = XF_ERR_IO;
            snprintf(s->reason[i], sizeof s->reason[i], "%s: %s", p->paths[first + (size_t) i],
                     why);
            continue;
        }
        s->st[i] = xf_image_load(p->paths[first + (size_t) i], &pp, dst, &e);
        if (s->st[i] == XF_OK)
            ok_idx[n_ok++] = i;
        else
            snprintf(s->reason[i], sizeof s->reason[i], "%s", e.msg);
    }
    if (n_ok > 0) {
        xf_error e;
        float *tmp = s->out + (size_t) o->batch * (size_t) p->dim; /* second half: staging */
        xf_status st = xf_session_run(sess, s->in, n_ok, tmp, (size_t) n_ok * (size_t) p->dim, &e);
        for (int k = 0; k < n_ok; k++) {
            int i = ok_idx[k];
            if (st != XF_OK) {
                s->st[i] = st;
                snprintf(s->reason[i], sizeof s->reason[i], "%s", e.msg);
            } else {
                memcpy(s->out + (size_t) i * (size_t) p->dim, tmp + (size_t) k * (size_t) p->dim,
                       (size_t) p->dim * sizeof(float));
            }
        }
    }
}

typedef struct {
    pipe_t *p;
    xf_session *sess; /* made by xf__pipeline_run, freed after the join */
} worker_arg;

static void *worker(void *arg)
{
    pipe_t *p = ((worker_arg *) arg)->p;
    xf_session *sess = ((worker_arg *) arg)->sess;
    for (;;) {
        pthread_mutex_lock(&p->mu);
        if (p->stop || p->next >= p->n_batches) {
            pthread_mutex_unlock(&p->mu);
            break;
        }
        size_t b = p->next++;
        slot *s = &p->slots[b % (size_t) p->n_slots];
        while (!(s->state == SLOT_EMPTY && s->turn == b) && !p->stop)
            pthread_cond_wait(&p->cv, &p->mu);
        if (p->stop) {
            pthread_mutex_unlock(&p->mu);
            break;
        }
        s->state = SLOT_BUSY;
        s->batch_idx = b;
        pthread_mutex_unlock(&p->mu);
        process(p, sess, s, b);
        pthread_mutex_lock(&p->mu);
        s->state = SLOT_DONE;
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
    }
    return NULL;
}

xf_status xf__pipeline_run(const xf_model *m, char *const *paths, size_t n,
                           const xf_pipeline_opts *o, size_t *n_failed, xf_error *err)
{
    *n_failed = 0;
    if (o->threads < 1 || o->threads > 256 || o->batch < 1 || o->batch > 4096)
        return xf__fail(err, XF_ERR_ARG, "threads must be 1..256 and batch 1..4096");
    if (o->start >= n)
        return XF_OK;
    pipe_t p;
    memset(&p, 0, sizeof p);
    xf_status ds = xf_session_check(m, &o->so, &p.dim, err);
    if (ds)
        return ds;
    /* one worker's session first: its size, with the batch slots, decides how many workers
     * and how large a batch the memory budget holds (smaller batches first, then fewer) */
    xf_pipeline_opts lo = *o;
    pthread_t th[256];
    worker_arg wa[256];
    int started = 0, made = 0, threads = o->threads;
    xf_session_opts so = o->so;
    so.max_batch = o->batch;
    wa[0].p = &p;
    if ((ds = xf_session_create(m, &so, &wa[0].sess, err)))
        return ds;
    made = 1;
    size_t in_len = xf_model_input_len(m), sess = xf__session_reserved(wa[0].sess), held = 0;
    for (;;) {
        held = (size_t) lo.batch * (in_len + 2 * (size_t) p.dim) * sizeof(float) * 2 *
               (size_t) lo.threads;
        size_t extra = sess * (size_t) (lo.threads - 1);
        if (xf__memory_take(held + extra)) {
            xf__memory_give(extra); /* the other sessions take theirs */
            break;
        }
        if (lo.batch == 1 && lo.threads == 1) {
            xf_session_free(wa[0].sess);
            return xf__fail(err, XF_ERR_NOMEM,
                            "one image needs %.1f MiB (input buffers and activations), over the "
                            "memory budget of %.1f MiB (XFER_MAX_MEMORY or --max-memory sets it)",
                            (double) (held + sess) / 1048576.0,
                            (double) xf__memory_budget() / 1048576.0);
        }
        if (lo.batch > 1)
            lo.batch = (lo.batch + 1) / 2;
        else
            lo.threads--;
    }
    if (lo.batch != o->batch || lo.threads != o->threads)
        xf__log(XF_LOG_WARN,
                "xfer: batch %d and %d worker%s (not %d and %d): the memory budget is %.0f MiB\n",
                lo.batch, lo.threads, lo.threads == 1 ? "" : "s", o->batch, o->threads,
                (double) xf__memory_budget() / 1048576.0);
    o = &lo;
    threads = lo.threads;
    p.m = m;
    p.paths = paths;
    p.n = n;
    p.o = o;
    p.n_batches = (n - o->start + (size_t) o->batch - 1) / (size_t) o->batch;
    p.n_slots = 2 * o->threads;
    p.in_len = in_len;
    xf_status s = XF_OK;
    if (!(p.slots = calloc((size_t) p.n_slots, sizeof *p.slots)))
        s = xf__fail(err, XF_ERR_NOMEM, "out of memory");
    for (int i = 0; !s && i < p.n_slots; i++) {
        slot *sl = &p.slots[i];
        sl->turn = (size_t) i;
        sl->in = xf__alloc((size_t) o->batch * p.in_len * sizeof(float));
        sl->out = xf__alloc(2 * (size_t) o->batch * (size_t) p.dim * sizeof(float));
        sl->st = calloc((size_t) o->batch, sizeof *sl->st);
        sl->reason = calloc((size_t) o->batch, sizeof *sl->reason);
        if (!sl->in || !sl->out || !sl->st || !sl->reason)
            s = xf__fail(err, XF_ERR_NOMEM, "out of memory for batch buffers");
    }
    pthread_mutex_init(&p.mu, NULL);
    pthread_cond_init(&p.cv, NULL);
    for (; !s && made < threads; made++) { /* the other workers' sessions, before any runs */
        xf_error e;
        wa[made].p = &p;
        if (xf_session_create(m, &so, &wa[made].sess, &e) == XF_OK)
            continue;
        if (e.code == XF_ERR_NOMEM) { /* the budget holds fewer: run with those */
            xf__log(XF_LOG_WARN, "xfer: %d worker%s instead of %d: %s\n", made,
                    made == 1 ? "" : "s", threads, e.msg);
            threads = made;
            break;
        }
        s = e.code;
        if (err)
            *err = e;
    }
    xf__blas_threads(1); /* one core per worker: OpenBLAS splitting a layer over threads changes
                          * its sums' order, so -j 1 on 2 BLAS threads gave other features */
    for (int t = 0; !s && t < threads; t++) {
        if (pthread_create(&th[t], NULL, worker, &wa[t]) != 0) {
            s = xf__fail(err, XF_ERR_NOMEM, "cannot start worker thread");
            break;
        }
        started++;
    }
    if (s) {
        pthread_mutex_lock(&p.mu);
        p.stop = 1;
        pthread_cond_broadcast(&p.cv);
        pthread_mutex_unlock(&p.mu);
    }
    for (size_t b = 0; !s && b < p.n_batches; b++) {
        slot *sl = &p.slots[b % (size_t) p.n_slots];
        pthread_mutex_lock(&p.mu);
        while (!(sl->state == SLOT_DONE && sl->batch_idx == b) && !p.fatal)
            pthread_cond_wait(&p.cv, &p.mu);
        if (p.fatal) {
            s = p.fatal;
            if (err)
                *err = p.fatal_err;
            pthread_mutex_unlock(&p.mu);
            break;
        }
        pthread_mutex_unlock(&p.mu);
        size_t first = o->start + b * (size_t) o->batch;
        size_t cnt = n - first < (size_t) o->batch ? n - first : (size_t) o->batch;
        for (size_t i = 0; i < cnt && !s; i++) {
            int ok = sl->st[i] == XF_OK;
            if (!ok)
                (*n_failed)++;
            s = o->emit(o->user, first + i, paths[first + i], sl->st[i],
                        ok ? sl->out + i * (size_t) p.dim : NULL, ok ? NULL : sl->reason[i], err);
            if (!s && o->max_failures && *n_failed >= o->max_failures)
                s = xf__fail(err, XF_ERR_STOPPED,
                             "stopped after %zu failed inputs "
                             "(--max-failures)",
                             *n_failed);
            if (!s && o->interrupted && *o->interrupted)
                s = xf__fail(err, XF_ERR_INTERRUPTED, "interrupted after %zu of %zu inputs",
                             first + i + 1, n);
        }
        pthread_mutex_lock(&p.mu);
        sl->state = SLOT_EMPTY;
        sl->turn = b + (size_t) p.n_slots;
        if (s)
            p.stop = 1;
        pthread_cond_broadcast(&p.cv);
        pthread_mutex_unlock(&p.mu);
    }
    pthread_mutex_lock(&p.mu);
    p.stop = 1;
    pthread_cond_broadcast(&p.cv);
    pthread_mutex_unlock(&p.mu);
    for (int t = 0; t < started; t++)
        pthread_join(th[t], NULL);
    for (int t = 0; t < made && t < threads; t++)
        xf_session_free(wa[t].sess);
    pthread_mutex_destroy(&p.mu);
    pthread_cond_destroy(&p.cv);
    for (int i = 0; p.slots && i < p.n_slots; i++) {
        free(p.slots[i].in);
        free(p.slots[i].out);
        free(p.slots[i].st);
        free(p.slots[i].reason);
    }
    free(p.slots);
    xf__memory_give(held);
    return s;
}
