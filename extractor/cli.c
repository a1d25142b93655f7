/* cli.c — the command-line kit (see cli.h): option parsing, generated help and man pages, exit
 * codes, the weights search, progress, checked standard output.
 *
 * It is: the only argument parser of the project; the tools declare tables, this file reads
 * argv against them. It is not: in libxfer.a (a library never parses argv or picks weights).
 */
#include "cli.h"
#include "feats.h"
#include "io.h"
#include "pipeline.h"
#include "provenance.h"
#include "wfile.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int xf_cli_exit(xf_status s)
{
    switch (s) {
    case XF_OK:
        return XF_EXIT_OK;
    case XF_ERR_WRITE:
        return XF_EXIT_WRITE;
    case XF_ERR_STOPPED:
        return XF_EXIT_STOPPED;
    case XF_ERR_INTERRUPTED:
        return XF_EXIT_WRITE;
    default:
        return XF_EXIT_ERROR;
    }
}

int xf_cli_usage(const xf_cli *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", c->tool);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return XF_EXIT_USAGE;
}

int xf_cli_fail(const xf_cli *c, const xf_error *err)
{
    fprintf(stderr, "%s: %s\n", c->tool, err->msg);
    return xf_cli_exit(err->code);
}

int xf_cli_parse3(const char *s, float *v)
{
    char *end;
    for (int i = 0; i < 3; i++) {
        v[i] = strtof(s, &end);
        if (end == s || (i < 2 && *end != ',') || (i == 2 && *end))
            return 0;
        s = end + 1;
    }
    return 1;
}

/* ---- help and man page -------------------------------------------------------------------- */
static int takes_value(const xf_cli_opt *o)
{
    return o->kind != XF_CLI_FLAG;
}

static void choices_text(const xf_cli_opt *o, char *b, size_t n)
{
    b[0] = 0;
    for (int i = 0; o->choices && o->choices[i]; i++)
        snprintf(b + strlen(b), n - strlen(b), "%s%s", i ? "|" : "", o->choices[i]);
}

/* "-w, --weights FILE", "--pool avg|max|none" */
static void opt_label(const xf_cli_opt *o, char *b, size_t n)
{
    char meta[96] = "";
    if (takes_value(o) && o->meta)
        snprintf(meta, sizeof meta, " %s", o->meta);
    else if (o->kind == XF_CLI_CHOICE)
        meta[0] = ' ', choices_text(o, meta + 1, sizeof meta - 1);
    else if (takes_value(o))
        snprintf(meta, sizeof meta, " VALUE");
    snprintf(b, n, "%s%s%s%s", o->alt ? o->alt : "    ", o->alt ? ", " : "", o->name, meta);
}

/* text wrapped to 100 columns, later lines indented by indent */
static void wrap(FILE *f, const char *text, int col, int indent)
{
    const char *p = text;
    while (*p) {
        const char *w = p;
        while (*w && *w != ' ')
            w++;
        int len = (int) (w - p);
        if (col + len > 99 && col > indent) {
            fprintf(f, "\n%*s", indent, "");
            col = indent;
        }
        fprintf(f, "%.*s", len, p);
        col += len;
        p = w;
        while (*p == ' ')
            p++;
        if (*p) {
            fputc(' ', f);
            col++;
        }
    }
    fputc('\n', f);
}

static void help(const xf_cli *c, FILE *f)
{
    fprintf(f, "usage: %s %s\n", c->tool, c->synopsis);
    if (c->about)
        wrap(f, c->about, 0, 0);
    fprintf(f, "options:\n");
    for (const xf_cli_opt *o = c->opts; o->name; o++) {
        char label[128];
        opt_label(o, label, sizeof label);
        fprintf(f, "  %-26s", label);
        int col = 28;
        if ((int) strlen(label) > 26) {
            fprintf(f, "\n%28s", "");
        }
        wrap(f, o->help ? o->help : "", col, 28);
    }
    fprintf(f, "  %-26s", "-h, --help");
    wrap(f, "this help", 28, 28);
    fprintf(f, "  %-26s", "    --version");
    wrap(f, "the version", 28, 28);
    if (c->epilog)
        fprintf(f, "%s", c->epilog);
}

/* roff-escaped text */
static void roff(FILE *f, const char *s)
{
    for (int bol = 1; *s; s++) {
        if (bol && (*s == '.' || *s == '\''))
            fputs("\\&", f);
        if (*s == '\\')
            fputs("\\e", f);
        else if (*s == '-')
            fputs("\\-", f);
        else
            fputc(*s, f);
        bol = *s == '\n';
    }
}

static void man(const xf_cli *c, FILE *f)
{
    fprintf(f, ".TH %s 1 \"\" \"xfer %s\" \"xfer manual\"\n.SH NAME\n", c->tool, XF_VERSION_STRING);
    roff(f, c->tool);
    fprintf(f, " \\- part of xfer, transfer learning on images\n.SH SYNOPSIS\n.B ");
    roff(f, c->tool);
    fputc(' ', f);
    roff(f, c->synopsis);
    fprintf(f, "\n");
    if (c->about) {
        fprintf(f, ".SH DESCRIPTION\n");
        roff(f, c->about);
        fputc('\n', f);
    }
    fprintf(f, ".SH OPTIONS\n");
    for (const xf_cli_opt *o = c->opts; o->name; o++) {
        char label[128];
        opt_label(o, label, sizeof label);
        fprintf(f, ".TP\n.B ");
        roff(f, label);
        fprintf(f, "\n");
        roff(f, o->help ? o->help : "");
        fputc('\n', f);
    }
    fprintf(f, ".TP\n.B \\-h, \\-\\-help\nthis help\n.TP\n.B \\-\\-version\nthe version\n");
    if (c->epilog) {
        fprintf(f, ".SH NOTES\n.nf\n");
        roff(f, c->epilog);
        fprintf(f, ".fi\n");
    }
}

/* ---- parsing ---------------------------------------------------------------------------- */
static const xf_cli_opt *find(const xf_cli *c, const char *name, size_t len)
{
    for (const xf_cli_opt *o = c->opts; o->name; o++)
        if ((strlen(o->name) == len && strncmp(o->name, name, len) == 0) ||
            (o->alt && strlen(o->alt) == len && strncmp(o->alt, name, len) == 0))
            return o;
    return NULL;
}

static int set(const xf_cli *c, const xf_cli_opt *o, const char *v)
{
    char *end = NULL;
    char why[200] = "";
    int ok = 1;
    switch (o->kind) {
    case XF_CLI_FLAG:
        *(int *) o->dest = 1;
        break;
    case XF_CLI_INT:
    case XF_CLI_I64: {
        long long x = strtoll(v, &end, 10);
        ok = *v && !*end && (double) x >= o->lo && (double) x <= o->hi;
        if (ok && o->kind == XF_CLI_INT)
            *(int *) o->dest = (int) x;
        else if (ok)
            *(int64_t *) o->dest = x;
        if (!ok)
            snprintf(why, sizeof why, "expected an integer in %.0f..%.0f", o->lo, o->hi);
        break;
    }
    case XF_CLI_U64: {
        unsigned long long x = strtoull(v, &end, 10);
        ok = *v && *v != '-' && !*end;
        if (ok)
            *(uint64_t *) o->dest = x;
        else
            snprintf(why, sizeof why, "expected a non-negative integer");
        break;
    }
    case XF_CLI_FLOAT:
    case XF_CLI_DOUBLE: {
        double x = strtod(v, &end);
        ok = *v && !*end && x >= o->lo && x <= o->hi;
        if (ok && o->kind == XF_CLI_FLOAT)
            *(float *) o->dest = (float) x;
        else if (ok)
            *(double *) o->dest = x;
        if (!ok)
            snprintf(why, sizeof why, "expected a number in [%g, %g]", o->lo, o->hi);
        break;
    }
    case XF_CLI_STR:
        *(const char **) o->dest = v;
        break;
    case XF_CLI_CHOICE: {
        ok = 0;
        for (int i = 0; o->choices[i] && !ok; i++)
            if (strcmp(v, o->choices[i]) == 0) {
                *(int *) o->dest = i;
                ok = 1;
            }
        if (!ok) {
            char list[150];
            choices_text(o, list, sizeof list);
            snprintf(why, sizeof why, "expected one of %s", list);
        }
        break;
    }
    case XF_CLI_RGB:
        ok = xf_cli_parse3(v, (float *) o->dest);
        if (!ok)
            snprintf(why, sizeof why, "expected R,G,B (three numbers)");
        break;
    case XF_CLI_LIST: {
        xf_cli_list *l = o->dest;
        if (l->n == l->max)
            return xf_cli_usage(c, "at most %d %s", l->max, o->name);
        l->v[l->n++] = v;
        break;
    }
    case XF_CLI_FUNC:
        ok = o->parse(v, o->dest, why, sizeof why);
        break;
    }
    if (!ok)
        return xf_cli_usage(c, "bad value '%s' for %s: %s", v, o->name, why);
    if (o->seen)
        *o->seen = 1;
    return -1;
}

volatile sig_atomic_t xf_cli_interrupted;

static void on_signal(int sig)
{
    xf_cli_interrupted = sig;
    signal(sig, SIG_DFL); /* a second one stops at once */
}

/* the default for every tool: the temporary files go, then the signal ends the process as it
 * would have (its exit status says which signal) */
static void on_fatal_signal(int sig)
{
    xf__temps_unlink_all();
    raise(sig); /* SA_RESETHAND: the default action now */
}

static void remove_temps_on_signals(void)
{
    static const int sigs[3] = {SIGTERM, SIGINT, SIGHUP};
    for (int i = 0; i < 3; i++) {
        struct sigaction old, sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_fatal_signal;
        sa.sa_flags = SA_RESETHAND | SA_NODEFER;
        sigemptyset(&sa.sa_mask);
        if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_DFL) /* nohup stays */
            sigaction(sigs[i], &sa, NULL);
    }
}

void xf_cli_catch_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
}

int xf_cli_parse(const xf_cli *c, int argc, char **argv, char ***operands, int *n_operands)
{
    int n = 0, rc = -1, after_dd = 0;
    signal(SIGXFSZ, SIG_IGN); /* past `ulimit -f` a write fails with EFBIG: exit 5, its reason */
    remove_temps_on_signals();
    char **ops = argv + 1;
    for (int i = 1; i < argc && rc < 0; i++) {
        char *a = argv[i];
        if (after_dd || a[0] != '-' || strcmp(a, "-") == 0) {
            ops[n++] = a;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            after_dd = 1;
            continue;
        }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            help(c, stdout);
            return xf_cli_close_stdout(c);
        }
        if (strcmp(a, "--version") == 0) {
            printf("%s (xfer %s)\n", c->tool, XF_VERSION_STRING);
            return xf_cli_close_stdout(c);
        }
        if (strcmp(a, "--man") == 0) {
            man(c, stdout);
            return xf_cli_close_stdout(c);
        }
        const xf_cli_opt *o;
        const char *v = NULL;
        if (a[1] == '-') { /* --name, --name=value */
            const char *eq = strchr(a, '=');
            o = find(c, a, eq ? (size_t) (eq - a) : strlen(a));
            if (o && eq && !takes_value(o))
                return xf_cli_usage(c, "option %.*s takes no value", (int) (eq - a), a);
            v = eq ? eq + 1 : NULL;
        } else { /* -x, -x value, -xvalue */
            o = find(c, a, strlen(a));
            if (!o && (o = find(c, a, 2)) && takes_value(o))
                v = a + 2;
            else if (o && strlen(a) > 2)
                o = NULL;
        }
        if (!o)
            return xf_cli_usage(c, "unknown option %s (see --help)", a);
        if (takes_value(o) && !v) {
            if (i + 1 >= argc)
                return xf_cli_usage(c, "option %s needs a value (see --help)", a);
            v = argv[++i];
        }
        rc = set(c, o, v);
    }
    const xf_cli_opt *q = find(c, "--quiet", 7); /* the library's notes follow --quiet too */
    if (q && q->kind == XF_CLI_FLAG && *(int *) q->dest)
        xf_log_set(NULL, NULL, XF_LOG_WARN);
    *operands = ops;
    *n_operands = n;
    return rc;
}

int xf_cli_check_norm(const xf_cli *c, const float *mean, const float *std)
{
    for (int k = 0; k < 3; k++)
        if (std && !(std[k] > 0))
            return xf_cli_usage(c, "--std values must be > 0");
    for (int k = 0; k < 3; k++) /* 0-255 values (Caffe's habit) would ruin the features */
        if ((mean && fabsf(mean[k]) > 1) || (std && std[k] > 1))
            return xf_cli_usage(c,
                                "--mean and --std are on [0,1] pixels; for values on 0..255 "
                                "divide by 255 (--mean 127,127,127 is --mean 0.498,0.498,0.498)");
    return -1;
}

const char *const xf_cli_interp_names[] = {"bilinear", "bicubic", NULL};

int xf_cli_apply_preproc(const xf_cli *c, const xf_model *m, xf_preproc *pp,
                         const xf_cli_preproc *p, const xf_cli_decode *d)
{
    int h = xf_model_input_height(m), w = xf_model_input_width(m);
    if (p && p->size && (p->size != h || p->size != w))
        return xf_cli_usage(c, "--size %d: this model's graph is fixed at %dx%d", p->size, h, w);
    if (p && p->crop > 0)
        pp->crop_pct = p->crop;
    if (p && p->has_interp)
        pp->interp = p->interp;
    if (p && p->full_decode)
        pp->full_decode = 1;
    int rc =
        p ? xf_cli_check_norm(c, p->has_mean ? p->mean : NULL, p->has_std ? p->std : NULL) : -1;
    if (rc >= 0)
        return rc;
    if (p && p->has_mean)
        memcpy(pp->mean, p->mean, sizeof pp->mean);
    if (p && p->has_std)
        memcpy(pp->std, p->std, sizeof pp->std);
    if (d->max_memory && !xf__memory_parse(d->max_memory))
        return xf_cli_usage(c,
                            "bad value '%s' for --max-memory: expected bytes or a size such "
                            "as 4G or 512M",
                            d->max_memory);
    if (d->max_memory)
        setenv("XFER_MAX_MEMORY", d->max_memory, 1);
    if (d->no_exif)
        pp->exif_rotate = 0;
    pp->allow_truncated = d->allow_truncated;
    if (d->has_max_pixels)
        pp->max_pixels = d->max_pixels;
    return -1;
}

int xf_cli_parse_shard(const char *v, void *dest, char *why, size_t n)
{
    long *sh = dest; /* index, count */
    char *end;
    const char *slash = strchr(v, '/'), *env = NULL;
    sh[1] = slash ? strtol(slash + 1, &end, 10) : 0;
    if (!slash || *end || sh[1] < 1 || sh[1] > 1000000)
        return snprintf(why, n, "expected I/N with 0 <= I < N, or auto/N"), 0;
    if (strncmp(v, "auto/", 5) == 0) {
        if (!(env = getenv("SLURM_ARRAY_TASK_ID")) || !*env)
            env = getenv("JOB_COMPLETION_INDEX");
        if (!env || !*env)
            return snprintf(why, n, "auto/N needs SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX"), 0;
    }
    sh[0] = strtol(env ? env : v, &end, 10);
    if (end != (env ? env + strlen(env) : slash) || sh[0] < 0 || sh[0] >= sh[1])
        return snprintf(why, n, "expected I/N with 0 <= I < N (task index %s)", env ? env : v), 0;
    return 1;
}

int xf_cli_parse_ints(const char *v, void *dest, char *why, size_t n)
{
    xf_cli_ints *l = dest;
    char *end;
    l->n = 0;
    for (const char *p = v; *p; p = *end ? end + 1 : end) {
        long x = strtol(p, &end, 10);
        if (end == p || x < 1 || x > 65536 || (*end != ',' && *end) || l->n == l->max)
            return snprintf(why, n, "expected up to %d numbers N[,N...] in 1..65536", l->max), 0;
        l->v[l->n++] = (int) x;
    }
    return l->n > 0 || (snprintf(why, n, "expected N[,N...]"), 0);
}

int xf_cli_parse_size(const char *v, void *dest, char *why, size_t n)
{
    int *hw = dest;
    char *end;
    long h = strtol(v, &end, 10), w = h;
    if (*end == 'x')
        w = strtol(end + 1, &end, 10);
    if (*end || h < 8 || w < 8 || h > 4096 || w > 4096)
        return snprintf(why, n, "expected N or HxW in 8..4096"), 0;
    hw[0] = (int) h, hw[1] = (int) w;
    return 1;
}

int xf_cli_threads(int j)
{
    return j > 0 ? j : xf__cpu_count();
}

/* ---- weights ------------------------------------------------------------------------------ */
static const char *const preferred[] = {"mobilenet_v2_imagenet_tf2.gguf",
                                        "mobilenet_v2_imagenet.gguf", "mobilenet_v2.gguf"};

/* the weights folders, in search order: ./weights, $XDG_CACHE_HOME/xfer (~/.cache/xfer), then
 * beside the executable's folder: ../weights (a build tree) and ../share/xfer/weights (an
 * installed tree), written without the ".." (they are shown in banners) */
enum { N_DIRS = 4 };
static int weights_dirs(char dirs[N_DIRS][4096])
{
    int n = 0;
    snprintf(dirs[n++], 4096, "weights");
    const char *cache = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    if (cache && *cache == '/' && snprintf(dirs[n], 4096, "%s/xfer", cache) < 4096)
        n++;
    else if (home && *home == '/' && snprintf(dirs[n], 4096, "%s/.cache/xfer", home) < 4096)
        n++;
    char exe[4096];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len > 0) {
        exe[len] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = 0; /* the executable's folder, then its parent */
            slash = strrchr(exe, '/');
            if (slash)
                *slash = 0;
            const char *up = slash == exe ? "" : exe;
            if (slash && snprintf(dirs[n], 4096, "%s/weights", up) < 4096)
                n++;
            if (slash && snprintf(dirs[n], 4096, "%s/share/xfer/weights", up) < 4096)
                n++;
        }
    }
    return n;
}

int xf_cli_open_model(const xf_cli *c, const xf_cli_weights *w, xf_model **m, const char **used)
{
    static char path[4096 + 64];
    const char *env = getenv("XFER_WEIGHTS");
    int found = 1;
    if (w->path) {
        snprintf(path, sizeof path, "%s", w->path);
    } else if (env && *env) {
        snprintf(path, sizeof path, "%s", env);
    } else {
        char dirs[N_DIRS][4096];
        int nd = weights_dirs(dirs);
        found = 0;
        for (size_t p = 0; !found && p < XF_COUNT(preferred); p++)
            for (int d = 0; !found && d < nd; d++) {
                snprintf(path, sizeof path, "%.4095s/%s", dirs[d], preferred[p]);
                found = access(path, R_OK) == 0;
            }
    }
    if (!found) {
        char dirs[N_DIRS][4096], where[4 * N_DIRS * 1024] = "";
        int nd = weights_dirs(dirs);
        for (int d = 0; d < nd; d++)
            snprintf(where + strlen(where), sizeof where - strlen(where), "%s%.1000s",
                     d ? ", " : "", dirs[d]);
        fprintf(stderr,
                "%s: no weights file: none of %s, %s, %s is in %s; run 'make weights' "
                "(WEIGHTS_MIRROR=DIR for a folder of the .tflite files), set XFER_WEIGHTS or "
                "give -w FILE\n",
                c->tool, preferred[0], preferred[1], preferred[2], where);
        return XF_EXIT_ERROR;
    }
    xf_open_opts oo = xf_open_default_opts();
    oo.verify_checksum = !w->no_verify;
    xf_error err;
    if (xf_model_open(path, &oo, m, &err) != XF_OK) {
        fprintf(stderr, "%s: %s\n", c->tool, err.msg);
        if (err.code == XF_ERR_CHECKSUM)
            fprintf(stderr,
                    "%s: the file is damaged: fetch or convert it again (--no-verify "
                    "uses it anyway)\n",
                    c->tool);
        return XF_EXIT_ERROR;
    }
    if (used)
        *used = path;
    return -1;
}

int xf_cli_open_model_by_crc(const xf_cli *c, xf_cli_weights *w, uint32_t crc, const char *name,
                             xf_model **m, const char **used)
{
    static char found[4096];
    if (!w->path && !getenv("XFER_WEIGHTS")) {
        if (!xf_cli_weights_by_crc(crc, found, sizeof found)) {
            fprintf(stderr,
                    "%s: the classifier was trained on features of backbone '%s' "
                    "(weights checksum %08x), which is not in weights/; give its file "
                    "with -w FILE\n",
                    c->tool, name, (unsigned) crc);
            return XF_EXIT_ERROR;
        }
        w->path = found;
    }
    int rc = xf_cli_open_model(c, w, m, used);
    if (rc < 0 && xf_model_checksum(*m) != crc) {
        fprintf(stderr,
                "%s: %s is not the backbone the classifier was trained on: its weights "
                "checksum is %08x, the classifier needs '%s' (%08x)\n",
                c->tool, *used, (unsigned) xf_model_checksum(*m), name, (unsigned) crc);
        xf_model_free(*m);
        return XF_EXIT_ERROR;
    }
    return rc;
}

int xf_cli_open_classifier(const xf_cli *c, xf_cli_weights *w, const char *path, int backbone,
                           xf_head *h, int *kind, xf_model **m, const char **used)
{
    xf_error err;
    *m = NULL;
    if ((*kind = xf__classifier_open(path, !w->no_verify, h, &err)) < 0)
        return xf_cli_fail(c, &err);
    int rc = -1;
    if (backbone && *kind == XF_CLASSIFIER_HEAD) { /* the backbone it was trained on */
        uint32_t crc;
        char name[512];
        rc = xf__provenance_backbone(h->features_json, name, sizeof name, &crc, &err)
                 ? xf_cli_fail(c, &err)
                 : xf_cli_open_model_by_crc(c, w, crc, name, m, used);
    } else if (backbone) { /* it is its own backbone */
        w->path = w->path ? w->path : path;
        rc = xf_cli_open_model(c, w, m, used);
    }
    if (rc >= 0)
        xf__head_free(h);
    return rc;
}

int xf_cli_weights_by_crc(uint32_t crc, char *out, size_t size)
{
    char dirs[N_DIRS][4096];
    int nd = weights_dirs(dirs);
    for (int d = 0; d < nd; d++) {
        DIR *dir = opendir(dirs[d]);
        struct dirent *e;
        while (dir && (e = readdir(dir))) {
            size_t l = strlen(e->d_name);
            if (l < 5 || strcmp(e->d_name + l - 5, ".gguf") != 0)
                continue;
            snprintf(out, size, "%s/%s", dirs[d], e->d_name);
            xf_wfile *wf;
            if (xf__wfile_open(out, XF_WFILE_HEADER_ONLY, &wf, NULL) != XF_OK)
                continue;
            uint32_t got;
            int match =
                xf__wfile_get_u32(wf, "xfer.data.crc32c", &got, NULL) == XF_OK && got == crc;
            xf__wfile_free(wf);
            if (match) {
                closedir(dir);
                return 1;
            }
        }
        if (dir)
            closedir(dir);
    }
    return 0;
}

/* ---- progress ----------------------------------------------------------------------------- */
static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec * 1e-9;
}

static void clock_text(char *b, size_t n, double secs)
{
    int s = (int) (secs + 0.5);
    if (s >= 3600)
        snprintf(b, n, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60);
    else
        snprintf(b, n, "%d:%02d", s / 60, s % 60);
}

void xf_cli_progress_start(xf_cli_progress *p, const char *tool, const char *unit, size_t total,
                           size_t start, int quiet)
{
    memset(p, 0, sizeof *p);
    p->tool = tool, p->unit = unit, p->total = total, p->done = p->start = start;
    p->quiet = quiet;
    p->tty = isatty(STDERR_FILENO);
    p->t0 = p->last = now();
    struct winsize ws;
    const char *cols = getenv("COLUMNS");
    p->width = ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 ? ws.ws_col
               : cols && atoi(cols) > 0                                    ? atoi(cols)
                                                                           : 80;
}

static void draw(xf_cli_progress *p)
{
    double t = now(), el = t - p->t0;
    double rate = (double) (p->done - p->start) / (el > 1e-9 ? el : 1e-9);
    double eta = rate > 0 ? (double) (p->total - p->done) / rate : 0;
    int pct = p->total ? (int) (100 * p->done / p->total) : 100;
    char elapsed[16], left[16], tail[160];
    clock_text(elapsed, sizeof elapsed, el);
    clock_text(left, sizeof left, eta);
    snprintf(tail, sizeof tail, " %zu/%zu %3d%%  %.1f %s/s  %s, ETA %s", p->done, p->total, pct,
             rate, p->unit, elapsed, left);
    int bar = p->width - 1 - (int) strlen(tail) - 2;
    fputs("\r\033[K", stderr);
    if (bar >= 10) {
        if (bar > 40)
            bar = 40;
        int fill = p->total ? (int) ((size_t) bar * p->done / p->total) : bar;
        fputc('[', stderr);
        for (int i = 0; i < bar; i++)
            fputc(i < fill ? '#' : '.', stderr);
        fputc(']', stderr);
    }
    fprintf(stderr, "%.*s", p->width - 1 > 0 ? p->width - 1 : 0, tail);
    p->drawn = 1;
}

void xf_cli_progress_tick(xf_cli_progress *p, size_t done)
{
    p->done = done;
    if (p->quiet)
        return;
    double t = now();
    if (p->tty && t - p->last >= 0.25) {
        draw(p);
        p->last = t;
    } else if (!p->tty && t - p->last >= 5) { /* logs: a line every 5 s, never during warm-up */
        double el = t - p->t0, rate = (double) (p->done - p->start) / el;
        fprintf(stderr, "%s: %zu/%zu %s (%d%%), %.1f %s/s, elapsed %.0f s, ETA %.0f s\n", p->tool,
                p->done, p->total, p->unit, p->total ? (int) (100 * p->done / p->total) : 100, rate,
                p->unit, el, rate > 0 ? (double) (p->total - p->done) / rate : 0);
        p->last = t;
    }
}

void xf_cli_progress_hook(void *user, size_t done, size_t total)
{
    xf_cli_progress *p = user;
    p->total = total;
    xf_cli_progress_tick(p, done);
}

void xf_cli_progress_say(xf_cli_progress *p, const char *line)
{
    if (p->tty && p->drawn && !p->quiet)
        fputs("\r\033[K", stderr);
    fprintf(stderr, "%s\n", line);
    if (p->tty && p->drawn && !p->quiet)
        draw(p);
}

void xf_cli_progress_end(xf_cli_progress *p)
{
    if (p->quiet)
        return;
    double el = now() - p->t0;
    if (p->tty && p->drawn) {
        draw(p);
        fputc('\n', stderr);
    }
    if (p->done > p->start || !p->tty)
        fprintf(stderr, "%s: %zu %s in %.1f s (%.1f %s/s)\n", p->tool, p->done - p->start, p->unit,
                el, (double) (p->done - p->start) / (el > 1e-9 ? el : 1e-9), p->unit);
}

int xf_cli_close_stdout(const xf_cli *c)
{
    errno = 0;
    int bad = fflush(stdout) != 0 || ferror(stdout);
    if (!bad)
        return XF_EXIT_OK;
    fprintf(stderr, "%s: stdout: write failed: %s\n", c->tool,
            errno ? strerror(errno) : "output error");
    return XF_EXIT_WRITE;
}

void xf_cli_list_layers(const xf_model *m)
{
    int w = 32;
    for (int i = 0; i < xf_model_tensor_count(m); i++) {
        int l = (int) strlen(xf_model_tensor_name(m, i));
        w = l > w ? l : w;
    }
    printf("%-*s %-9s %s\n", w, "tensor", "op", "shape (h, w, c)");
    for (int i = 0; i < xf_model_tensor_count(m); i++) {
        int64_t h, ww, c;
        xf_model_tensor_shape(m, i, &h, &ww, &c);
        const char *name = xf_model_tensor_name(m, i);
        printf("%-*s %-9s (%lld, %lld, %lld)%s\n", w, name, xf_model_tensor_op(m, i), (long long) h,
               (long long) ww, (long long) c,
               strcmp(name, xf_model_default_layer(m)) == 0 ? "  [default]" : "");
    }
}

int xf_cli_feats_format(const xf_cli *c, xf_cli_feats_out *o)
{
    const char *out = o->path;
    int seen = o->has_fmt, *fmt = &o->fmt;
    static const struct {
        const char *ext;
        xf_feats_format fmt;
    } exts[] = {{".bin", XF_FEATS_BIN},
                {".npy", XF_FEATS_NPY},
                {".csv", XF_FEATS_CSV},
                {".svm", XF_FEATS_LIBSVM},
                {".libsvm", XF_FEATS_LIBSVM}};
    const char *dot = out ? strrchr(out, '.') : NULL;
    if (dot && strchr(dot, '/'))
        dot = NULL;
    for (size_t i = 0; dot && i < sizeof exts / sizeof exts[0]; i++) {
        if (strcasecmp(dot, exts[i].ext) != 0)
            continue;
        if (seen && *fmt != (int) exts[i].fmt)
            return xf_cli_usage(c, "-o %s names a %s file but --format is %s", out,
                                xf__feats_format_name(exts[i].fmt),
                                xf__feats_format_name((xf_feats_format) *fmt));
        *fmt = (int) exts[i].fmt;
        break;
    }
    if (!seen && !dot)
        *fmt = XF_FEATS_BIN;
    struct stat st;
    if (*fmt == XF_FEATS_NPY && (!out || strcmp(out, "-") == 0))
        return xf_cli_usage(c, "--format npy needs -o NAME (it writes NAME.npy, NAME.paths.txt "
                               "and NAME.failed.tsv)");
    if (*fmt == XF_FEATS_NPY && stat(out, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
        return xf_cli_usage(c,
                            "%s: npy output needs a regular file (its header is completed "
                            "last)",
                            out);
    if (o->classes && *fmt != XF_FEATS_LIBSVM)
        return xf_cli_usage(c, "--classes is for --format libsvm");
    return -1;
}

int xf_cli_output_exists(const xf_cli *c, const xf_cli_feats_out *o, int quiet)
{
    char fin[4200];
    if (!o->path)
        return 0;
    xf__feats_final_name(o->path, (xf_feats_format) o->fmt, fin, sizeof fin);
    if (access(fin, F_OK) != 0)
        return 0;
    /* only a complete file counts: a cut-off or corrupt one is made again */
    xf_error e;
    xf_featset fs;
    xf_status s = o->fmt == XF_FEATS_BIN   ? xf__feats_read(fin, &fs, &e)
                  : o->fmt == XF_FEATS_NPY ? xf__npy_check(fin, &e)
                                           : xf__text_check(fin, (xf_feats_format) o->fmt, &e);
    if (o->fmt == XF_FEATS_BIN && !s)
        xf__featset_free(&fs);
    if (s) {
        fprintf(stderr, "%s: %s exists but is not complete (%s): extracting again\n", c->tool, fin,
                e.msg);
        return 0;
    }
    if (!quiet)
        fprintf(stderr, "%s: %s exists, skipped (--skip-existing)\n", c->tool, fin);
    return 1;
}
