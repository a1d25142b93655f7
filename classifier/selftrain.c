/* selftrain.c — self-training on frozen features (train-classifier --unlabeled, see train.h):
 * the classic semi-supervised baseline (Yarowsky; Lee's pseudo-label) for the few-labels,
 * many-photos case. Each round the current head labels every unlabelled row; of the rows whose
 * top probability reaches the threshold, the most confident of each class join the labelled
 * ones: a quota per class (its share of the labelled rows, of the unlabelled pool, growing by
 * 1/rounds each round), filled to the same fraction for every class, the fraction the scarcest
 * class can fill, so the pseudo-labels keep the labelled rows' class mix; the head is trained
 * again at the labelled rows' C.
 * Unlabelled rows that are also labelled rows (the same path: one feature file with a label file
 * for some of it) are left out. It is: the loop. It is not: training (train.c) or a fine-tuning
 * method (finetune).
 */
#include "labelled.h"
#include "provenance.h"
#include "train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

typedef struct {
    float prob;
    int cls;
    size_t row;
} candidate;

static int by_class_then_prob(const void *a, const void *b) /* class up, probability down */
{
    const candidate *x = a, *y = b;
    if (x->cls != y->cls)
        return x->cls < y->cls ? -1 : 1;
    if (x->prob != y->prob)
        return x->prob > y->prob ? -1 : 1;
    return x->row < y->row ? -1 : x->row > y->row;
}

xf_status xf__self_train(const xf_featset *fs, const xf_labelmap *lm, const xf_train_opts *o,
                         const xf_selftrain_opts *so, xf_head *h, xf_error *err)
{
    const xf_featset *u = so->unlabeled;
    if (u->dim != fs->dim)
        return xf__fail(err, XF_ERR_ARG, "unlabelled features have %lld dimensions, not %lld",
                        (long long) u->dim, (long long) fs->dim);
    xf_status s = xf__provenance_check(fs->header_json, u->header_json, err);
    if (s)
        return xf__wrap(err, "the unlabelled features");
    if ((s = xf__train_head(fs, lm, o, h, err)))
        return s;
    float cv0 = h->cv_accuracy;
    int d = h->dim, k = h->k;
    xf_labelled lab;
    if ((s = xf__labelled_rows(fs, lm, NULL, &lab, err))) {
        xf__head_free(h);
        return s;
    }
    char **known = malloc((lab.n + 1) * sizeof *known); /* the labelled rows' paths, sorted */
    float *px = malloc(u->n * (size_t) d * sizeof(float) + 4), *dec = malloc((size_t) k * 8 + 8),
          *prob = malloc((size_t) k * 4 + 4);
    int *py = malloc(u->n * sizeof *py + 4), *prev = malloc(u->n * sizeof *prev + 4);
    int *pick = malloc(u->n * sizeof *pick + 4);
    size_t *avail = malloc((size_t) k * sizeof *avail);
    candidate *cand = malloc(u->n * sizeof *cand + 4);
    if (!known || !px || !dec || !prob || !py || !prev || !pick || !avail || !cand) {
        s = xf__fail(err, XF_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < lab.n; i++)
        known[i] = fs->paths[lab.row[i]];
    qsort(known, lab.n, sizeof *known, cmp_str);
    for (size_t i = 0; i < u->n; i++)
        prev[i] = -1;
    for (int r = 1; r <= so->rounds; r++) {
        /* every unlabelled row's prediction; per class, the most confident ones up to the
         * class's share of the unlabelled rows (its share of the labelled ones), r/rounds of
         * it in round r, every class filled to the fraction of its quota the scarcest can
         * fill: the pseudo-labels keep the classes' balance and grow in steps. Measured:
         * without the quota one class's pseudo-labels swamp the rest; with a quota only capped,
         * the classes the head is unsure of get few and fade out of its predictions (1-2% of
         * clothing_small's labels: 0.63 to 0.47, 0.55 to 0.26) */
        size_t m = 0, changed = 0, nc = 0, pool = 0;
        memset(avail, 0, (size_t) k * sizeof *avail);
        for (size_t i = 0; i < u->n; i++) {
            pick[i] = -1;
            if (u->status[i] != XF_OK ||
                bsearch(&u->paths[i], known, lab.n, sizeof *known, cmp_str))
                continue;
            pool++;
            xf__head_predict(h, u->x + i * (size_t) d, dec, prob);
            int best = 0;
            for (int c = 1; c < k; c++)
                best = prob[c] > prob[best] ? c : best;
            if (prob[best] >= so->threshold)
                cand[nc++] = (candidate){prob[best], best, i}, avail[best]++;
        }
        double fill = 1; /* of each class's quota */
        for (int c = 0; c < k; c++) {
            double quota = (double) pool * lab.count[c] / (double) lab.n * r / so->rounds;
            if (lab.count[c] > 0 && (double) avail[c] < fill * quota)
                fill = (double) avail[c] / quota;
        }
        qsort(cand, nc, sizeof *cand, by_class_then_prob);
        for (size_t j = 0, taken = 0; j < nc; j++) {
            if (j > 0 && cand[j].cls != cand[j - 1].cls)
                taken = 0;
            double quota = (double) pool * lab.count[cand[j].cls] / (double) lab.n * r / so->rounds;
            if ((double) taken++ < floor(fill * quota + 1e-9)) /* the scarcest: all it has */
                pick[cand[j].row] = cand[j].cls;
        }
        if (so->added)
            memset(so->added, 0, (size_t) k * sizeof *so->added);
        for (size_t i = 0; i < u->n; i++) {
            if (pick[i] >= 0) {
                if (so->added)
                    so->added[pick[i]]++;
                memcpy(px + m * (size_t) d, u->x + i * (size_t) d, (size_t) d * sizeof(float));
                py[m++] = pick[i];
            }
            changed += pick[i] != prev[i];
            prev[i] = pick[i];
        }
        if (so->verbose)
            xf__log(XF_LOG_INFO,
                    "train-classifier: self-training round %d: %zu of %zu unlabelled rows at "
                    "probability >= %.2f, %.0f%% of each class's quota (%zu changed)\n",
                    r, m, pool, (double) so->threshold, 100 * fill, changed);
        if (m == 0 || changed == 0)
            break;
        xf_train_opts o2 = *o;
        o2.fixed_C = (double) h->C, o2.verbose = 0, o2.extra_x = px, o2.extra_y = py;
        o2.n_extra = m;
        xf_head next;
        if ((s = xf__train_head(fs, lm, &o2, &next, err)))
            goto done;
        xf__head_free(h);
        *h = next;
    }
    h->cv_accuracy = cv0; /* what the labelled rows say; pseudo-labels would flatter it */
done:
    if (s)
        xf__head_free(h);
    xf__labelled_free(&lab);
    free(known), free(px), free(dec), free(prob), free(py), free(prev), free(pick), free(avail),
        free(cand);
    return s;
}
