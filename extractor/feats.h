/* feats.h — feature files: the streaming feats.bin format, NumPy .npy (+ paths, failures), CSV
 * and LIBSVM text (spec in weights/FORMAT.md §2).
 * It is: one writer interface over the formats (each resumable) and the feats.bin
 * reader. It is not: image decoding, the forward pass or the provenance JSON (provenance.h).
 */
#ifndef XF_FEATS_H
#define XF_FEATS_H

#include "base.h"

typedef enum {
    XF_FEATS_BIN,
    XF_FEATS_NPY,
    XF_FEATS_CSV,
    XF_FEATS_LIBSVM,
    XF_FEATS_COUNT_
} xf_feats_format;

/* "bin", "npy", "csv", "libsvm" -> format (1), else 0. */
int xf__feats_format_parse(const char *s, xf_feats_format *out);
const char *xf__feats_format_name(xf_feats_format f);
extern const char *const xf__feats_format_names[]; /* NULL-terminated, in enum order */

typedef struct xf_feats xf_feats;

typedef struct {
    const char *path; /* NULL or "-": stdout (bin, csv, libsvm). Files are written as
                       * "<path>.partial" and renamed when complete (io.h). npy: NAME.npy +
                       * NAME.paths.txt + NAME.failed.tsv; libsvm: NAME + NAME.paths.txt +
                       * NAME.classes.txt */
    xf_feats_format fmt;
    int64_t dim;
    const char *header_json;
    char *const *classes; /* libsvm labels: the class list (label = index); may be NULL */
    int n_classes;
    char *const *roots; /* libsvm: the walked folders classes are read under (folder_labels.h);
                         * must outlive the writer */
    int n_roots;
    int resume;  /* with a path: continue the partial files when their settings match */
    int no_keep; /* an interrupted or failed output is removed, not kept for --resume (merge) */
    char *const *expect_paths; /* resume: the input list, to check the records already there */
    size_t n_expect;
} xf_feats_opts;

/* Opens an output. With resume, *n_done records (of which *n_failed failed) were already in the
 * partial file and the caller continues at input *n_done. */
xf_status xf__feats_open(const xf_feats_opts *o, xf_feats **out, size_t *n_done, size_t *n_failed,
                         xf_error *err);
/* One record: status XF_OK with vec (dim floats), or an error status with a reason. */
xf_status xf__feats_write(xf_feats *f, const char *path, xf_status st, const float *vec,
                          const char *reason, xf_error *err);
/* Finishes (npy: fixes the row count; files: fsync + rename). commit=0 keeps the partial files
 * for --resume (removes them with no_keep). */
xf_status xf__feats_close(xf_feats *f, int commit, xf_error *err);
/* The file a finished output of o's path and format is found under (npy: NAME.npy). */
void xf__feats_final_name(const char *path, xf_feats_format fmt, char *out, size_t size);
/* feats_npy.c: XF_OK when path is a complete NAME.npy (header, size) with a NAME.paths.txt of
 * one line per row; else XF_ERR_FORMAT saying what is wrong (--skip-existing) */
xf_status xf__npy_check(const char *path, xf_error *err);
/* feats_text.c: the same for a CSV (its header, whole lines) or a libsvm file (whole lines, a
 * NAME.paths.txt of one line per row) */
xf_status xf__text_check(const char *path, xf_feats_format fmt, xf_error *err);

/* ---- reading feats.bin ---- */
typedef struct {
    char *header_json; /* provenance */
    int64_t dim;
    size_t n;          /* records */
    char **paths;      /* n */
    xf_status *status; /* n */
    char **reasons;    /* n (NULL for ok records) */
    float *x;          /* n * dim; rows of failed records are zero */
} xf_featset;

/* Reads a whole feats.bin ("-" = stdin); every length is bounded and a cut-off record is an
 * error naming the file and the record index. */
xf_status xf__feats_read(const char *path, xf_featset *out, xf_error *err);
void xf__featset_free(xf_featset *fs);
/* feats_merge.c: records [0, n) of each set in order into one output with the given header
 * (libsvm: labels from classes_file when not NULL, else from the records' classes under the
 * roots the header records); resume: continue the partial output an interrupted run left. */
xf_status xf__feats_write_sets(xf_featset *sets, int n_sets, const char *header, const char *out,
                               xf_feats_format fmt, const char *classes_file, int resume,
                               xf_error *err);
/* feats_merge.c: the parts files[0..n) of a sharded run, checked, in input order into out. */
xf_status xf__feats_merge(int n, char **files, const char *out, xf_feats_format fmt,
                          const char *classes_file, int resume, xf_error *err);
/* 1 when the file starts with the feats.bin magic. */
int xf__feats_sniff(const char *path);

#endif /* XF_FEATS_H */
