/* loss.c — the training loss: softmax cross-entropy with label smoothing, and its gradient.
 * It is: what finetune minimises. It is not: an op of the graph (op_softmax.c).
 */
#include "ops.h"

#include <math.h>

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
