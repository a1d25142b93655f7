/* io.h — how xfer reads an input file and writes a file the user named.
 *
 * It is: the one whole-file reader (regular files only, never blocking on a FIFO or a device,
 * bounded size) and the one output writer every tool uses: a complete file appears under the
 * final name or nothing does (a temporary name in the same folder, fsync, rename, fsync of the
 * folder), except when the name is standard output ("-") or not a regular file (a device, FIFO
 * or socket, or a symlink to one: written in place, never replaced). It is not: any format.
 */
#ifndef XF_IO_H
#define XF_IO_H

#include "base.h"

#include <sys/types.h>

/* Reads a whole regular file of at most max_bytes into a malloc'd buffer with a NUL after the
 * last byte. Statuses: XF_ERR_IO (cannot open, not a regular file, read error), XF_ERR_BOUNDS
 * (larger than max_bytes), XF_ERR_NOMEM. */
xf_status xf__read_file(const char *path, size_t max_bytes, uint8_t **out, size_t *len,
                        xf_error *err);

/* The lines of a text file (any length; a CR before the LF dropped): *out malloc'd (free each
 * and the array), *n of them. */
xf_status xf__read_lines(const char *path, char ***out, int *n, xf_error *err);

/* One CSV field per RFC 4180: quoted when it holds a comma, quote, CR or LF. 0 on write error. */
int xf__csv_field(FILE *f, const char *s);
/* One field of a line-oriented text file (paths.txt, TSV): backslash, tab, CR and LF written as
 * \\, \t, \r, \n and other control bytes as \xHH, so one line stays one record whatever
 * a file name holds. 0 on write error. */
int xf__text_field(FILE *f, const char *s);

typedef enum {
    XF_OUT_TEMP,    /* written as PATH.tmp.XXXXXX (created exclusively), renamed at commit      */
    XF_OUT_PARTIAL, /* written as PATH.partial (locked: a second writer is refused), emptied   */
    XF_OUT_RESUME,  /* PATH.partial as it is (created when absent), locked, for --resume        */
} xf_out_kind;

typedef struct {
    char *path; /* the name the user gave ("-": standard output)                 */
    char *tmp;  /* the file written, renamed onto path at commit; NULL: in place   */
    FILE *f;    /* write through this                                             */
    int fd;
    xf_out_kind kind;
    mode_t mode; /* the final file's mode (an existing file's own, else 0666 & ~umask) */
    uid_t uid;   /* an existing file's owner, kept when we may (root)              */
    gid_t gid;
    int had_file;
} xf_out;

/* Opens path for writing (see xf_out_kind; standard output and special files are written in
 * place whatever the kind). Statuses: XF_ERR_WRITE (cannot create: no folder, permission,
 * a folder of that name), XF_ERR_IO (in use by another process), XF_ERR_ARG (resume of a
 * special file), XF_ERR_NOMEM. */
xf_status xf__out_open(xf_out *o, const char *path, xf_out_kind kind, xf_error *err);
/* 1 when o writes path in place (standard output, a device, FIFO or socket). */
int xf__out_in_place(const xf_out *o);
/* Completes the file: flush, fsync, the final mode and owner, rename, fsync of the folder;
 * closes. XF_ERR_WRITE naming path on failure (the temporary file is then removed). */
xf_status xf__out_commit(xf_out *o, xf_error *err);
/* Completes n files as one set (npy + paths.txt + failed.tsv): all written and synced first,
 * then renamed in order; when a rename fails, the files already renamed are put back as they
 * were (an old file is kept by a hard link until the set is in place), so the set is all new or
 * all old. XF_ERR_WRITE naming the file that failed. */
xf_status xf__out_commit_set(xf_out *o, int n, xf_error *err);
/* Abandons the file: closes; a temporary file is removed, a partial one stays when keep (for
 * --resume) and is removed otherwise. Safe on a closed or zeroed xf_out. */
void xf__out_discard(xf_out *o, int keep);
/* temps.c: the temporary files being written, removed on a fatal signal (xf__temps_unlink_all
 * is async-signal-safe); xf__temps_clean_stale removes path's OUT.tmp.HOST.PID.* left by dead
 * processes of this host; xf__temp_host is HOST (the short host name, [A-Za-z0-9-]). */
void xf__temp_add(const char *path);
void xf__temp_forget(const char *path);
void xf__temps_unlink_all(void);
void xf__temps_clean_stale(const char *path);
void xf__temp_host(char *out, size_t size);
/* XF_ERR_WRITE when path cannot be written (its folder is missing or not writable, or path is
 * a folder): the check a long job makes before it starts. "-" and special files pass. */
xf_status xf__out_check(const char *path, xf_error *err);

#endif /* XF_IO_H */
