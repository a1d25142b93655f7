/* test_audit.c — the audit's label findings on a synthetic set large enough (26,000 rows, above
 * GRID_ROWS and TRAIN_ROWS) that C is chosen on a stratified part and the out-of-fold models
 * learn from another: 1% flipped labels are found with their true class suggested, and the
 * clean rows mostly are not. It is: a check of audit.c on known
 * answers. It is not: the CLI test (tests/cli/audit.sh) or the measured figures (README).
 */
#include "t.h"
#include "audit.h"

#include <string.h>

static double gauss(uint64_t *s)
{
    double u = 0;
    for (int i = 0; i < 12; i++) { /* Irwin-Hall: near enough to normal here */
        *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
        u += (double) (*s >> 11) / 9007199254740992.0;
    }
    return u - 6;
}

int main(void)
{
    enum { N = 26000, D = 64, K = 3, FLIPS = 260 };
    uint64_t seed = 7;
    static float centre[K][D];
    for (int c = 0; c < K; c++)
        for (int j = 0; j < D; j++)
            centre[c][j] = (float) (0.8 * gauss(&seed));
    xf_featset fs = {0};
    fs.header_json = strdup("{}");
    fs.dim = D, fs.n = N;
    fs.paths = calloc(N, sizeof *fs.paths), fs.reasons = calloc(N, sizeof *fs.reasons);
    fs.status = calloc(N, sizeof *fs.status), fs.x = malloc((size_t) N * D * sizeof *fs.x);
    static int truth[N], flipped[N];
    for (int i = 0; i < N; i++) {
        int c = i % K, shown = c;
        if (i % (N / FLIPS) == 5)
            shown = (c + 1) % K, flipped[i] = 1;
        truth[i] = c;
        char p[64];
        snprintf(p, sizeof p, "syn/c%d/%05d.jpg", shown, i);
        fs.paths[i] = strdup(p);
        for (int j = 0; j < D; j++)
            fs.x[(size_t) i * D + (size_t) j] = centre[c][j] + (float) gauss(&seed);
    }
    xf_audit_opts o = xf__audit_default_opts();
    o.threads = 2;
    xf_audit a = {0};
    xf_error err;
    xf_status s = xf__audit_run(&fs, NULL, NULL, &o, &a, &err);
    T_CHECKF(s == XF_OK, "%s", s ? err.msg : "");
    int found = 0, right = 0, suggested = 0;
    for (size_t i = 0; !s && i < a.n; i++) {
        const xf_finding *f = &a.f[i];
        if (f->kind != XF_FIND_LABEL)
            continue;
        found++;
        right += flipped[f->rec];
        suggested += flipped[f->rec] && f->suggested >= 0 && /* class names are "c0".."c2" */
                     a.lab.classes[f->suggested][1] - '0' == truth[f->rec];
    }
    double prec = found ? (double) right / found : 0, rec = (double) right / FLIPS;
    printf("26000 rows, %d flipped: %d flagged, precision %.3f, recall %.3f, C %.4g\n", FLIPS,
           found, prec, rec, a.C);
    T_CHECKF(prec >= 0.8 && rec >= 0.8, "precision %.3f recall %.3f", prec, rec);
    T_CHECKF(suggested >= right * 9 / 10, "true class suggested for %d of %d", suggested, right);
    T_CHECK(a.C >= 1e-4 && a.C <= 10);
    /* --label-prob 1: all that confident learning prunes, a superset of the default's findings */
    o.label_prob = 1, o.C = a.C;
    xf_audit all = {0};
    s = xf__audit_run(&fs, NULL, NULL, &o, &all, &err);
    int found_all = 0, kept = 0;
    for (size_t i = 0; !s && i < all.n; i++)
        if (all.f[i].kind == XF_FIND_LABEL) {
            found_all++;
            for (size_t j = 0; j < a.n; j++)
                kept += a.f[j].kind == XF_FIND_LABEL && a.f[j].rec == all.f[i].rec;
        }
    T_CHECKF(s == XF_OK && found_all >= found && kept == found, "%d of %d, %d kept", found,
             found_all, kept);
    xf__audit_free(&all);
    xf__audit_free(&a);
    xf__featset_free(&fs);
    return t_done();
}
