/* loss.c — the training losses and their gradients: softmax cross-entropy with label smoothing
 * (what finetune minimises), and NT-Xent on two views per image (what contrastive
 * pre-training minimises: L2 normalisation, cosine similarities, cross-entropy over the other
 * rows). It is not: an op of the graph (op_softmax.c).
 */
#include "ops.h"

#include <math.h>
#include <stdlib.h>

double xf__softmax_xent(const float *logits, const int *labels, int n, int64_t k, float smoothing,
                        float *dlogits)
{
    double loss = 0;
    xf__softmax(logits, n, k, dlogits);
    for (int r = 0; r < n; r++) {
        float *p = dlogits + (int64_t) r * k;
        for (int64_t j = 0; j < k; j++) {
            double target =
                (double) smoothing / (double) k + (j == labels[r] ? 1.0 - (double) smoothing : 0.0);
            loss -= target * log((double) p[j] + 1e-30);
            p[j] = (float) (((double) p[j] - target) / n);
        }
    }
    return loss / n;
}

/* In double throughout: with m = 2n rows, u_i = z_i / |z_i|, s_ij = u_i . u_j / tau (j != i),
 * L = 1/m sum_i (log sum_{j != i} exp s_ij - s_i,p(i)). With G = dL/ds (G_ii = 0),
 * dL/du_i = 1/tau sum_j (G_ij + G_ji) u_j (s is symmetric), and through the normalisation
 * dL/dz_i = (dL/du_i - u_i (u_i . dL/du_i)) / |z_i|. */
double xf__ntxent(const float *z, int n, int64_t d, float tau, float *dz, int *hits)
{
    size_t m = 2 * (size_t) n;
    double *u = malloc(m * (size_t) d * sizeof(double)), *nrm = malloc(m * sizeof(double)),
           *g = malloc(m * m * sizeof(double)), *du = malloc((size_t) d * sizeof(double));
    double loss = 0;
    int hit = 0;
    if (!u || !nrm || !g || !du) {
        free(u), free(nrm), free(g), free(du);
        return (double) NAN;
    }
    for (size_t i = 0; i < m; i++) {
        double q = 0;
        for (int64_t c = 0; c < d; c++)
            q += (double) z[i * (size_t) d + (size_t) c] * (double) z[i * (size_t) d + (size_t) c];
        nrm[i] = fmax(sqrt(q), 1e-12);
        for (int64_t c = 0; c < d; c++)
            u[i * (size_t) d + (size_t) c] = (double) z[i * (size_t) d + (size_t) c] / nrm[i];
    }
    for (size_t i = 0; i < m; i++) { /* row i of s into g, then its softmax minus the target */
        size_t p = i < (size_t) n ? i + (size_t) n : i - (size_t) n, best = p;
        double mx = -1e300, sum = 0;
        for (size_t j = 0; j < m; j++) {
            double s = 0;
            for (int64_t c = 0; j != i && c < d; c++)
                s += u[i * (size_t) d + (size_t) c] * u[j * (size_t) d + (size_t) c];
            g[i * m + j] = s / (double) tau;
            if (j != i && g[i * m + j] > mx)
                mx = g[i * m + j], best = j;
        }
        for (size_t j = 0; j < m; j++)
            sum += j != i ? exp(g[i * m + j] - mx) : 0;
        double lse = mx + log(sum);
        loss += lse - g[i * m + p];
        hit += best == p;
        for (size_t j = 0; j < m; j++)
            g[i * m + j] = j == i ? 0 : (exp(g[i * m + j] - lse) - (j == p)) / (double) m;
    }
    for (size_t i = 0; i < m; i++) {
        double dot = 0;
        for (int64_t c = 0; c < d; c++) {
            double a = 0;
            for (size_t j = 0; j < m; j++)
                a += (g[i * m + j] + g[j * m + i]) * u[j * (size_t) d + (size_t) c];
            du[c] = a / (double) tau;
            dot += du[c] * u[i * (size_t) d + (size_t) c];
        }
        for (int64_t c = 0; c < d; c++)
            dz[i * (size_t) d + (size_t) c] =
                (float) ((du[c] - u[i * (size_t) d + (size_t) c] * dot) / nrm[i]);
    }
    free(u), free(nrm), free(g), free(du);
    if (hits)
        *hits = hit;
    return loss / (double) m;
}
