/* audit.h — what is wrong with a labelled image set, found from its features before training:
 * labels that are likely wrong, exact and near duplicates, test images that are copies of
 * training images (leakage), and images far from everything (outliers).
 *
 * It is: the analysis (audit.c: label errors by confident learning on out-of-fold
 * probabilities, checked against the nearest neighbours; neighbours.c: exact blocked k-nearest
 * neighbours by cosine; findings.c: the TSV and the cleaned label file; report.c: the HTML
 * page). It is not: the command line (xfer-audit.c) or
 * feature extraction.
 */
#ifndef XF_AUDIT_H
#define XF_AUDIT_H

#include "labelled.h"

#define XF_SUGGEST_IDENTICAL (-2)

typedef enum { XF_FIND_LABEL, XF_FIND_DUPLICATE, XF_FIND_LEAK, XF_FIND_OUTLIER } xf_find_kind;

typedef struct {
    xf_find_kind kind;
    size_t rec;    /* record index (in the training set; in the test set for a leak)     */
    long other;    /* the matching training record (duplicate, leak), the nearest
                    * neighbour (label, outlier), or -1                                  */
    double score;  /* label: how sure (0..1); duplicate, leak: cosine; outlier: how far
                    * (robust z-score of the mean distance to its neighbours)             */
    int label;     /* the row's class (index), or -1                                      */
    int suggested; /* label: the class it probably is; duplicate, leak:
                    * XF_SUGGEST_IDENTICAL when the two files hold the same bytes; else -1 */
    int test;      /* 1: rec (a duplicate within the test set, a leak) is a test record   */
} xf_finding;

typedef struct {
    int folds; /* out-of-fold probabilities: stratified k-fold (5)                */
    uint64_t seed;
    int threads;
    int k;             /* neighbours consulted (10)                                        */
    double dup_cosine; /* a near duplicate: cosine of L2-normalised features >= this       */
    double outlier_z;  /* an outlier: robust z-score of its neighbour distance >= this     */
    double label_prob; /* a label finding: its label's probability below this (0: 1/classes,
                        * chance; 1: whatever confident learning prunes)                   */
    double knn_weight; /* weight of the neighbours' labels against the classifier's (0.3);
                        * 0 (with label_prob 1): plain confident learning                   */
    double C;          /* > 0: the classifier's C, no cross-validated grid (0: the grid)    */
    int verbose;
    /* progress of the long parts (may be NULL): what, done, total */
    void (*progress)(void *user, const char *what, size_t done, size_t total);
    void *user;
} xf_audit_opts;

typedef struct {
    xf_finding *f;
    size_t n, cap;
    xf_labelled lab;    /* the training rows and classes                              */
    double *noise;      /* per class: estimated fraction of wrong labels (k)           */
    double cv_accuracy; /* of the out-of-fold predictions                              */
    double C;           /* chosen by cross-validation (or given)                       */
} xf_audit;

xf_audit_opts xf__audit_default_opts(void);
/* Audits train (labels from lm or its class folders), and test against it when not NULL.
 * Findings are sorted by kind, then by score (highest first). */
xf_status xf__audit_run(const xf_featset *train, const xf_featset *test, const xf_labelmap *lm,
                        const xf_audit_opts *o, xf_audit *out, xf_error *err);
void xf__audit_free(xf_audit *a);
const char *xf__find_kind_name(xf_find_kind k);

/* neighbours.c: for each row of Q (nq, d), its k most cosine-similar rows of R (nr, d) — rows
 * L2-normalised here — excluding itself when Q is R (same): idx (nq, k) and sim (nq, k), most
 * similar first (-1 / -2 where R has fewer rows). Blocked matrix products: memory is bounded by
 * the blocks, not by nq * nr. */
xf_status xf__knn(const float *Q, size_t nq, const float *R, size_t nr, int d, int k, int same,
                  const xf_audit_opts *o, long *idx, float *sim, xf_error *err);

/* findings.c: the findings as TSV (header "kind path other score label suggested", paths
 * escaped as in every text output) at path ("-" or NULL: standard output). */
xf_status xf__audit_write_tsv(const xf_audit *a, const xf_featset *train, const xf_featset *test,
                              const char *path, xf_error *err);
/* findings.c: dir/labels.csv ("path,label"): every labelled training row except the likely wrong
 * labels (given their suggested class with relabel); duplicates and outliers stay. file gets the
 * file's name. */
xf_status xf__audit_write_fix(const xf_audit *a, const xf_featset *train, const char *dir,
                              int relabel, char *file, size_t size, xf_error *err);

/* report.c: the self-contained HTML page (thumbnails embedded) at path. */
xf_status xf__audit_report(const xf_audit *a, const xf_featset *train, const xf_featset *test,
                           const char *path, xf_error *err);

#endif /* XF_AUDIT_H */
