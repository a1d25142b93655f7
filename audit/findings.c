/* findings.c — an audit's findings written out: the TSV (one finding per line) and the cleaned
 * label file of --fix (see audit.h).
 * It is: the two writers. It is not: the analysis (audit.c) or the HTML page (report.c).
 */
#include "audit.h"
#include "io.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

xf_status xf__audit_write_tsv(const xf_audit *a, const xf_featset *tr, const xf_featset *te,
                              const char *path, xf_error *err)
{
    xf_out o;
    xf_status s = xf__out_open(&o, path ? path : "-", XF_OUT_TEMP, err);
    if (s)
        return s;
    FILE *f = o.f;
    fputs("kind\tpath\tother\tscore\tlabel\tsuggested\n", f);
    for (size_t i = 0; i < a->n; i++) {
        const xf_finding *x = &a->f[i];
        const xf_featset *set = x->test ? te : tr;
        const xf_featset *os = x->kind == XF_FIND_DUPLICATE && x->test ? te : tr;
        fprintf(f, "%s\t", xf__find_kind_name(x->kind));
        xf__text_field(f, set->paths[x->rec]);
        fputc('\t', f);
        if (x->other >= 0)
            xf__text_field(f, os->paths[x->other]);
        fprintf(f, "\t%.4f\t", x->score);
        if (x->label >= 0)
            xf__text_field(f, a->lab.classes[x->label]);
        fputc('\t', f);
        if (x->suggested >= 0)
            xf__text_field(f, a->lab.classes[x->suggested]);
        else if (x->suggested == XF_SUGGEST_IDENTICAL)
            fputs("identical", f);
        fputc('\n', f);
    }
    if (ferror(f)) {
        xf__out_discard(&o, 0);
        return xf__fail(err, XF_ERR_WRITE, "%s: write failed", path ? path : "stdout");
    }
    return xf__out_commit(&o, err);
}

xf_status xf__audit_write_fix(const xf_audit *a, const xf_featset *tr, const char *dir, int relabel,
                              char *file, size_t size, xf_error *err)
{
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return xf__fail(err, XF_ERR_WRITE, "%s: cannot create: %s", dir, strerror(errno));
    snprintf(file, size, "%s/labels.csv", dir);
    int *label = malloc((tr->n + 1) * sizeof *label);
    if (!label)
        return xf__fail(err, XF_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < tr->n; i++)
        label[i] = -1;
    for (size_t i = 0; i < a->lab.n; i++)
        label[a->lab.row[i]] = a->lab.y[i];
    for (size_t i = 0; i < a->n; i++) {
        const xf_finding *x = &a->f[i];
        if (x->kind == XF_FIND_LABEL) /* outliers and duplicates are for a person to judge */
            label[x->rec] = relabel ? x->suggested : -1;
    }
    xf_out o;
    xf_status s = xf__out_open(&o, file, XF_OUT_TEMP, err);
    if (!s) {
        fputs("path,label\n", o.f);
        for (size_t i = 0; i < tr->n; i++)
            if (label[i] >= 0) {
                xf__csv_field(o.f, tr->paths[i]);
                fputc(',', o.f);
                xf__csv_field(o.f, a->lab.classes[label[i]]);
                fputc('\n', o.f);
            }
        s = ferror(o.f)
                ? (xf__out_discard(&o, 0), xf__fail(err, XF_ERR_WRITE, "%s: write failed", file))
                : xf__out_commit(&o, err);
    }
    free(label);
    return s;
}
