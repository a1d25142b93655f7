/* io.c — reading input files and writing output files (see io.h).
 *
 * It is: open(O_NONBLOCK) + fstat before any read (a FIFO or device given as an input is "not a
 * regular file", never a hang), and the output rules: exclusive temporary names or a locked
 * PATH.partial opened without following symlinks, the existing file's mode and owner kept,
 * fsync of file and folder around the rename. It is not: buffering policy or formats.
 */
#include "io.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

xf_status xf__read_file(const char *path, size_t max_bytes, uint8_t **out, size_t *len,
                        xf_error *err)
{
    *out = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return xf__fail(err, XF_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return xf__fail(err, XF_ERR_IO, "%s: not a regular file", path);
    }
    if ((uint64_t) st.st_size > max_bytes) {
        close(fd);
        return xf__fail(err, XF_ERR_BOUNDS, "%s: file is %lld bytes, over the %zu-byte limit", path,
                        (long long) st.st_size, max_bytes);
    }
    size_t n = (size_t) st.st_size, got = 0;
    uint8_t *buf = malloc(n + 1);
    if (!buf) {
        close(fd);
        return xf__fail(err, XF_ERR_NOMEM, "%s: out of memory for %zu bytes", path, n);
    }
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            int e = r < 0 ? errno : 0;
            close(fd);
            free(buf);
            return xf__fail(err, XF_ERR_IO, "%s: read failed: %s", path,
                            e ? strerror(e) : "the file shrank while being read");
        }
        got += (size_t) r;
    }
    close(fd);
    buf[n] = 0;
    *out = buf;
    *len = n;
    return XF_OK;
}

xf_status xf__read_lines(const char *path, char ***out, int *n, xf_error *err)
{
    uint8_t *text;
    size_t len;
    xf_status s = xf__read_file(path, (size_t) 64 << 20, &text, &len, err);
    char **v = NULL;
    int k = 0;
    for (char *p = (char *) text, *nl; !s && p && *p; p = nl ? nl + 1 : NULL) {
        nl = strchr(p, '\n');
        size_t l = nl ? (size_t) (nl - p) : strlen(p);
        if (l && p[l - 1] == '\r')
            l--;
        char **nv = realloc(v, (size_t) (k + 1) * sizeof *nv);
        if (!nv || !(nv[k] = strndup(p, l))) {
            free(nv ? nv : v);
            v = NULL, k = 0;
            s = xf__fail(err, XF_ERR_NOMEM, "out of memory");
            break;
        }
        v = nv, k++;
    }
    free(text);
    *out = v, *n = k;
    return s;
}

/* ---- writing ---- */
static mode_t current_umask(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[128];
    unsigned m = 0;
    int found = 0;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "Umask: %o", &m) == 1) {
            found = 1;
            break;
        }
    if (f)
        fclose(f);
    if (!found) { /* older kernels: read it by setting it (not thread-safe, but rare) */
        mode_t old = umask(022);
        umask(old);
        return old;
    }
    return (mode_t) m;
}

static void out_free(xf_out *o)
{
    if (o->tmp && o->kind != XF_OUT_RESUME)
        xf__temp_forget(o->tmp);
    free(o->path);
    free(o->tmp);
    o->path = o->tmp = NULL;
    o->f = NULL;
    o->fd = -1;
}

/* fsync of the folder holding path, so the rename survives a power loss */
static void sync_dir(const char *path)
{
    char *copy = strdup(path);
    if (!copy)
        return;
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(copy);
}

xf_status xf__out_check(const char *path, xf_error *err)
{
    struct stat st;
    if (strcmp(path, "-") == 0)
        return XF_OK;
    if (stat(path, &st) == 0) {
        if (S_ISDIR(st.st_mode))
            return xf__fail(err, XF_ERR_WRITE, "%s: is a directory", path);
        if (!S_ISREG(st.st_mode))
            return XF_OK; /* written in place */
    }
    char *copy = strdup(path);
    if (!copy)
        return xf__fail(err, XF_ERR_NOMEM, "out of memory");
    const char *dir = dirname(copy);
    xf_status s = XF_OK;
    if (stat(dir, &st) != 0)
        s = xf__fail(err, XF_ERR_WRITE, "%s: cannot create: %s", path, strerror(errno));
    else if (!S_ISDIR(st.st_mode))
        s = xf__fail(err, XF_ERR_WRITE, "%s: cannot create: %s is not a directory", path, dir);
    else if (access(dir, W_OK | X_OK) != 0)
        s = xf__fail(err, XF_ERR_WRITE, "%s: cannot create: %s", path, strerror(errno));
    free(copy);
    return s;
}

int xf__out_in_place(const xf_out *o)
{
    return o->tmp == NULL;
}

xf_status xf__out_open(xf_out *o, const char *path, xf_out_kind kind, xf_error *err)
{
    memset(o, 0, sizeof *o);
    o->fd = -1;
    o->kind = kind;
    if (!(o->path = strdup(path)))
        return xf__fail(err, XF_ERR_NOMEM, "out of memory");
    struct stat st;
    int is_stdout = strcmp(path, "-") == 0;
    if (is_stdout || (stat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))) {
        if (kind == XF_OUT_RESUME) {
            out_free(o);
            return xf__fail(err, XF_ERR_ARG, "%s: --resume needs a regular output file", path);
        }
        o->fd = is_stdout ? STDOUT_FILENO : open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC);
        o->f = is_stdout ? stdout : o->fd >= 0 ? fdopen(o->fd, "wb") : NULL;
        if (!o->f) {
            xf_status s = xf__fail(err, XF_ERR_WRITE, "%s: cannot open for writing: %s", path,
                                   strerror(errno));
            if (o->fd >= 0)
                close(o->fd);
            out_free(o);
            return s;
        }
        return XF_OK;
    }
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        out_free(o);
        return xf__fail(err, XF_ERR_WRITE, "%s: is a directory", path);
    }
    if (stat(path, &st) == 0) { /* an existing file keeps its mode and owner */
        o->had_file = 1;
        o->mode = st.st_mode & 07777;
        o->uid = st.st_uid;
        o->gid = st.st_gid;
    } else {
        o->mode = 0666 & ~current_umask();
    }
    size_t len = strlen(path) + 80;
    if (!(o->tmp = malloc(len))) {
        out_free(o);
        return xf__fail(err, XF_ERR_NOMEM, "out of memory");
    }
    if (kind == XF_OUT_TEMP) {
        char host[40];
        xf__temp_host(host, sizeof host);
        xf__temps_clean_stale(path);
        snprintf(o->tmp, len, "%s.tmp.%s.%d.XXXXXX", path, host, (int) getpid());
        o->fd = mkostemp(o->tmp, O_CLOEXEC);
        if (o->fd >= 0)
            xf__temp_add(o->tmp);
    } else {
        snprintf(o->tmp, len, "%s.partial", path);
        /* never through a symlink planted at the predictable name; a hard link to another
         * file is refused below */
        for (int tries = 0; tries < 8; tries++) {
            o->fd = open(o->tmp, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
            if (o->fd < 0)
                break;
            if (flock(o->fd, LOCK_EX | LOCK_NB) != 0) {
                int e = errno;
                close(o->fd);
                xf_status s =
                    e == EWOULDBLOCK
                        ? xf__fail(err, XF_ERR_IO,
                                   "%s: in use by another process (another run "
                                   "writing the same output?)",
                                   o->tmp)
                        : xf__fail(err, XF_ERR_WRITE, "%s: cannot lock: %s", o->tmp, strerror(e));
                out_free(o);
                return s;
            }
            /* the lock is ours; check the name still leads to this file (a finishing run may
             * have renamed it away before we locked) */
            struct stat a, b;
            if (fstat(o->fd, &a) == 0 && lstat(o->tmp, &b) == 0 && a.st_dev == b.st_dev &&
                a.st_ino == b.st_ino)
                break;
            close(o->fd);
            o->fd = -1;
        }
        struct stat a;
        if (o->fd >= 0 && (fstat(o->fd, &a) != 0 || !S_ISREG(a.st_mode) || a.st_nlink != 1)) {
            close(o->fd);
            xf_status s = xf__fail(err, XF_ERR_WRITE,
                                   "%s: not a plain file of its own (a hard "
                                   "link?); remove it",
                                   o->tmp);
            out_free(o);
            return s;
        }
        if (o->fd >= 0 && kind == XF_OUT_PARTIAL)
            xf__temp_add(o->tmp); /* gone on a fatal signal, unless the tool keeps it (resume) */
        if (o->fd >= 0 && kind == XF_OUT_PARTIAL && ftruncate(o->fd, 0) != 0) {
            xf_status s =
                xf__fail(err, XF_ERR_WRITE, "%s: cannot truncate: %s", o->tmp, strerror(errno));
            close(o->fd);
            out_free(o);
            return s;
        }
    }
    if (o->fd < 0) {
        xf_status s = xf__fail(err, XF_ERR_WRITE, "%s: cannot create: %s", path,
                               errno == ELOOP ? "a symlink is in the way of the partial file"
                                              : strerror(errno));
        out_free(o);
        return s;
    }
    if (!(o->f = fdopen(o->fd, kind == XF_OUT_TEMP ? "wb" : "r+b"))) {
        xf_status s = xf__fail(err, XF_ERR_NOMEM, "out of memory");
        close(o->fd);
        unlink(o->tmp);
        out_free(o);
        return s;
    }
    return XF_OK;
}

/* flush, fsync, the final mode and owner, close: everything but the rename; 0 or an errno */
static int out_finish(xf_out *o)
{
    int e = 0;
    if (fflush(o->f) != 0)
        e = errno;
    if (o->tmp) {
        if (!e && fsync(o->fd) != 0)
            e = errno;
        if (!e && fchmod(o->fd, o->mode) != 0)
            e = errno;
        if (!e && o->had_file && (o->uid != geteuid() || o->gid != getegid()))
            (void) !fchown(o->fd, o->uid, o->gid); /* may fail unless root: then ours */
    }
    if (o->f != stdout && fclose(o->f) != 0 && !e)
        e = errno;
    o->f = NULL;
    return e;
}

xf_status xf__out_commit(xf_out *o, xf_error *err)
{
    if (!o->f)
        return xf__fail(err, XF_ERR_ARG, "output already closed");
    int e = out_finish(o);
    if (o->tmp && !e && rename(o->tmp, o->path) != 0)
        e = errno;
    xf_status s = XF_OK;
    if (e) {
        s = xf__fail(err, XF_ERR_WRITE, "%s: write failed: %s", o->path, strerror(e));
        if (o->tmp)
            unlink(o->tmp);
    } else if (o->tmp) {
        sync_dir(o->path);
    }
    out_free(o);
    return s;
}

xf_status xf__out_commit_set(xf_out *o, int n, xf_error *err)
{
    int e = 0, bad = -1, renamed = 0;
    for (int i = 0; i < n; i++) { /* every file complete on disk before any rename */
        int ei = o[i].f ? out_finish(&o[i]) : EBADF;
        if (ei && !e)
            e = ei, bad = i;
    }
    char **old = n > 0 ? calloc((size_t) n, sizeof *old) : NULL; /* links to the replaced files */
    if (!e && !old)
        e = ENOMEM, bad = 0;
    for (int i = 0; !e && i < n; i++) {
        if (!o[i].tmp || !o[i].had_file)
            continue;
        size_t len = strlen(o[i].path) + 32;
        if (!(old[i] = malloc(len))) {
            e = ENOMEM, bad = i;
            break;
        }
        snprintf(old[i], len, "%s.xfer-old.%d", o[i].path, (int) getpid());
        int ok = link(o[i].path, old[i]) == 0; /* link never follows or replaces what is there */
        if (!ok && errno == EEXIST && unlink(old[i]) == 0) /* left by a killed run of this pid */
            ok = link(o[i].path, old[i]) == 0;
        if (!ok) {
            e = errno, bad = i;
            free(old[i]), old[i] = NULL;
        }
    }
    while (!e && renamed < n) {
        if (o[renamed].tmp && rename(o[renamed].tmp, o[renamed].path) != 0)
            e = errno, bad = renamed;
        else
            renamed++;
    }
    for (int i = 0; e && i < renamed; i++) /* undo: the set as it was before */
        if (o[i].tmp)
            (void) (old && old[i] ? rename(old[i], o[i].path) : unlink(o[i].path));
    for (int i = 0; i < n; i++) {
        if (old && old[i])
            unlink(old[i]), free(old[i]);
        if (o[i].tmp && (e ? i >= renamed : 0))
            unlink(o[i].tmp);
    }
    free(old);
    if (!e && n > 0 && o[0].tmp)
        sync_dir(o[0].path);
    xf_status s = e ? xf__fail(err, XF_ERR_WRITE,
                               "%s: write failed: %s (no file of the set "
                               "was changed)",
                               o[bad].path, strerror(e))
                    : XF_OK;
    for (int i = 0; i < n; i++)
        out_free(&o[i]);
    return s;
}

void xf__out_discard(xf_out *o, int keep)
{
    if (o->f && o->f != stdout)
        fclose(o->f);
    else if (o->f)
        fflush(o->f);
    o->f = NULL;
    if (o->tmp && !(keep && o->kind != XF_OUT_TEMP))
        unlink(o->tmp);
    out_free(o);
}

int xf__csv_field(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\r\n"))
        return fputs(s, f) >= 0;
    if (fputc('"', f) == EOF)
        return 0;
    for (; *s; s++)
        if ((*s == '"' && fputc('"', f) == EOF) || fputc(*s, f) == EOF)
            return 0;
    return fputc('"', f) != EOF;
}

int xf__text_field(FILE *f, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char) *s;
        const char *esc = c == '\\'   ? "\\\\"
                          : c == '\t' ? "\\t"
                          : c == '\n' ? "\\n"
                          : c == '\r' ? "\\r"
                                      : NULL;
        int ok = esc                     ? fputs(esc, f) >= 0
                 : c < 0x20 || c == 0x7f ? fprintf(f, "\\x%02x", c) > 0
                                         : fputc(c, f) != EOF;
        if (!ok)
            return 0;
    }
    return 1;
}
