/* bench_forward.c — forward-pass throughput of a weights file: images/s at a batch size and a
 * thread count (threads = independent sessions on slices of the work, BLAS single-threaded),
 * the network's GFLOP per image (2 x the multiply-adds of its convolutions and dense layers)
 * and peak RSS. It is: the xfer side of `make bench`. It is not: a test (no pass/fail).
 * Usage: bench_forward WEIGHTS BATCH THREADS SECONDS [LAYER]  (default: the last tensor)
 */
#include "gemm.h"
#include "model.h"

#include <pthread.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

typedef struct {
    const xf_model *m;
    int batch;
    double seconds;
    long images;
    const char *layer;
} job;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec * 1e-9;
}

static void *run(void *arg)
{
    job *j = arg;
    xf_session_opts so = xf_session_default_opts();
    so.max_batch = j->batch;
    so.n_layers = 1;
    so.layers[0] = j->layer;
    xf_session *s;
    xf_error e;
    if (xf_session_create(j->m, &so, &s, &e) != XF_OK) {
        fprintf(stderr, "%s\n", e.msg);
        return NULL;
    }
    size_t in_len = xf_model_input_len(j->m) * (size_t) j->batch;
    float *in = malloc(in_len * sizeof(float));
    float *out = malloc((size_t) (xf_session_feat_dim(s) * j->batch) * sizeof(float));
    for (size_t i = 0; i < in_len; i++)
        in[i] = (float) ((i * 2654435761u) % 1000) / 1000.0f;
    xf_session_run(s, in, j->batch, out, (size_t) (xf_session_feat_dim(s) * j->batch), &e);
    double t0 = now();
    while (now() - t0 < j->seconds) {
        xf_session_run(s, in, j->batch, out, (size_t) (xf_session_feat_dim(s) * j->batch), &e);
        j->images += j->batch;
    }
    j->seconds = now() - t0;
    free(in);
    free(out);
    xf_session_free(s);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 5 && argc != 6) {
        fprintf(stderr, "usage: bench_forward WEIGHTS BATCH THREADS SECONDS [LAYER]\n");
        return 2;
    }
    xf_model *m;
    xf_error e;
    if (xf_model_open(argv[1], NULL, &m, &e) != XF_OK) {
        fprintf(stderr, "%s\n", e.msg);
        return 1;
    }
    int batch = atoi(argv[2]), threads = atoi(argv[3]);
    double secs = atof(argv[4]);
    xf__blas_threads(1);
    job jobs[16];
    pthread_t th[16];
    for (int t = 0; t < threads && t < 16; t++) {
        jobs[t] =
            (job){m, batch, secs, 0,
                  argc == 6 ? argv[5] : xf_model_tensor_name(m, xf_model_tensor_count(m) - 1)};
        pthread_create(&th[t], NULL, run, &jobs[t]);
    }
    double rate = 0;
    for (int t = 0; t < threads && t < 16; t++) {
        pthread_join(th[t], NULL);
        rate += (double) jobs[t].images / jobs[t].seconds;
    }
    double macs = 0; /* per image */
    for (int i = 0; i < m->graph.n_nodes; i++) {
        const xf_node *nd = &m->graph.nodes[i];
        const xf_node *x = nd->n_in ? &m->graph.nodes[nd->in[0]] : nd;
        if (nd->op == XF_OP_CONV2D)
            macs +=
                (double) (nd->h * nd->w * nd->c) * nd->kh * nd->kw * (double) (x->c / nd->groups);
        else if (nd->op == XF_OP_DWCONV2D)
            macs += (double) (nd->h * nd->w * nd->c) * nd->kh * nd->kw;
        else if (nd->op == XF_OP_DENSE)
            macs += (double) (x->h * x->w * x->c) * (double) nd->c;
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("%.1f images/s  peak RSS %.0f MiB  %.3f GFLOP/image\n", rate,
           (double) ru.ru_maxrss / 1024.0, 2 * macs / 1e9);
    xf_model_free(m);
    return 0;
}
