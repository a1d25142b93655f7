/* cli.h — the command-line kit of the seven tools (never part of libxfer): one table of options
 * per tool, parsed the same way everywhere, help and man pages generated from the table, the
 * status -> exit code map, the weights and classifier search, a progress display and checked
 * standard output.
 *
 * It is: what every main shares. Conventions: --opt value, --opt=value, -o value, -ovalue,
 * "--" ends the options, "-" is an operand (standard input or output), -h/--help, --version;
 * a usage error exits 2 with one line naming the option. It is not: part of the library API.
 */
#ifndef XF_CLI_H
#define XF_CLI_H

#include "base.h"
#include "feats.h"
#include "head.h"
#include <signal.h>

/* Exit codes, the same in every tool (README "Exit codes"). */
enum {
    XF_EXIT_OK = 0,      /* everything done                                              */
    XF_EXIT_ERROR = 1,   /* a runtime error: bad weights or inputs, out of memory          */
    XF_EXIT_USAGE = 2,   /* a usage error: unknown option, bad value, missing operand       */
    XF_EXIT_PARTIAL = 3, /* finished, some inputs failed (each has a record)               */
    XF_EXIT_STOPPED = 4, /* stopped by --max-failures                                      */
    XF_EXIT_WRITE = 5,   /* cannot write the output, or interrupted by a signal (worth retrying) */
};

/* The exit codes as the tools' help gives them. */
#define XF_CLI_EXIT_TEXT                                                                       \
    "exit: 0 all inputs done; 1 fatal error (weights, inputs, memory); 2 usage;\n"             \
    "      3 finished, some inputs failed (each has a record); 4 stopped by --max-failures;\n" \
    "      5 cannot write the output (no such directory, disk full...: worth retrying)\n"

/* The exit code of a library status. */
int xf_cli_exit(xf_status s);

typedef enum {
    XF_CLI_FLAG,   /* int *: set to 1                                   */
    XF_CLI_INT,    /* int *, within [lo, hi]                            */
    XF_CLI_I64,    /* int64_t *, within [lo, hi]                        */
    XF_CLI_U64,    /* uint64_t *                                        */
    XF_CLI_FLOAT,  /* float *, within [lo, hi]                          */
    XF_CLI_DOUBLE, /* double *, within [lo, hi]                         */
    XF_CLI_STR,    /* const char **                                     */
    XF_CLI_CHOICE, /* int *: the index of the value in choices          */
    XF_CLI_RGB,    /* float[3]: "R,G,B"                                 */
    XF_CLI_LIST,   /* xf_cli_list *: repeatable, values collected       */
    XF_CLI_FUNC,   /* parse(value, dest, why): 0 with why on a bad value */
} xf_cli_kind;

typedef struct {
    const char **v;
    int n, max;
} xf_cli_list;

typedef struct {
    const char *name; /* "--batch"; NULL ends a table                         */
    const char *alt;  /* "-b" or NULL                                           */
    xf_cli_kind kind;
    void *dest;
    double lo, hi;              /* INT, I64, FLOAT, DOUBLE bounds (inclusive) */
    const char *const *choices; /* CHOICE: NULL-terminated                      */
    int (*parse)(const char *v, void *dest, char *why, size_t why_size); /* FUNC */
    const char *meta; /* the value's name in help: "N", "FILE"       */
    const char *help; /* one sentence; "(default ...)" at the end    */
    int *seen;        /* set to 1 when the option is given (may be NULL) */
} xf_cli_opt;

typedef struct {
    const char *tool;     /* "extract-features"                                       */
    const char *synopsis; /* "[options] PATH... > feats.bin" (one or more lines)       */
    const char *about;    /* a paragraph printed after the synopsis                   */
    const char *epilog;   /* printed after the options (exit codes, examples)          */
    const xf_cli_opt *opts;
} xf_cli;

/* Parses argv against c->opts. Operands (non-options, "-", everything after "--") are moved to
 * the front of argv[1..]: *operands = argv + 1, *n_operands of them. Returns -1 to go on, or
 * the exit code to return now (0 after --help, --version or --man; 2 after a usage error, said
 * on stderr). */
int xf_cli_parse(const xf_cli *c, int argc, char **argv, char ***operands, int *n_operands);

/* SIGTERM, SIGINT and SIGHUP (Slurm's and Kubernetes' preemption) set xf_cli_interrupted
 * instead of killing the process (a second signal kills it); the run stops after the record in
 * hand and exits 5. xf_cli_parse ignores SIGXFSZ in every tool. */
extern volatile sig_atomic_t xf_cli_interrupted;
void xf_cli_catch_signals(void);
/* "tool: <message>" on stderr, then returns XF_EXIT_USAGE. */
int xf_cli_usage(const xf_cli *c, const char *fmt, ...) XF_PRINTF(2, 3);
/* "tool: err->msg" on stderr, then returns xf_cli_exit(err->code). */
int xf_cli_fail(const xf_cli *c, const xf_error *err);

/* ---- shared option groups (each a few xf_cli_opt rows for a tool's table) ---- */
typedef struct {
    const char *path; /* -w: the weights file (NULL: the search below)                 */
    int no_verify;    /* --no-verify: skip the data checksum                            */
} xf_cli_weights;

#define XF_CLI_WEIGHTS_OPTS(w)                                                                     \
    {"--weights",                                                                                  \
     "-w",                                                                                         \
     XF_CLI_STR,                                                                                   \
     &(w)->path,                                                                                   \
     .meta = "FILE",                                                                               \
     .help = "backbone weights file (default: $XFER_WEIGHTS, else the first of "                   \
             "mobilenet_v2_imagenet_tf2, mobilenet_v2_imagenet, mobilenet_v2 .gguf found in "      \
             "./weights, ~/.cache/xfer, the build's weights/, PREFIX/share/xfer/weights)"},        \
    {                                                                                              \
        "--no-verify", NULL, XF_CLI_FLAG, &(w)->no_verify,                                         \
            .help = "skip the weights file's checksum (verified by default: about 2 ms per 10 MB)" \
    }

#define XF_CLI_THREADS_OPT(j)                                                                     \
    {                                                                                             \
        "--jobs", "-j", XF_CLI_INT, (j), 1, 256,                                                  \
            .meta = "N",                                                                          \
            .help =                                                                               \
                "worker threads (default: the CPUs this process may use, honouring affinity and " \
                "cgroup quota)"                                                                   \
    }

#define XF_CLI_BATCH_OPT(b)                                                                      \
    {                                                                                            \
        "--batch", NULL, XF_CLI_INT, (b), 1, 1024, .meta = "N",                                  \
                                                   .help = "images per forward pass (default 4)" \
    }

#define XF_CLI_QUIET_OPT(q)                                                          \
    {                                                                                \
        "--quiet", "-q", XF_CLI_FLAG, (q),                                           \
            .help = "no progress on stderr (failures and errors are still reported)" \
    }

/* decoding policy of images (extract-features, classify, finetune) */
typedef struct {
    int no_exif, allow_truncated, has_max_pixels;
    int64_t max_pixels;
    const char *max_memory; /* --max-memory: sets $XFER_MAX_MEMORY (budget.c) */
} xf_cli_decode;

#define XF_CLI_DECODE_OPTS(d)                                                  \
    {"--allow-truncated", NULL, XF_CLI_FLAG, &(d)->allow_truncated,            \
     .help = "accept JPEGs with corrupt/truncated data (libjpeg fills grey)"}, \
        {"--max-pixels",                                                       \
         NULL,                                                                 \
         XF_CLI_I64,                                                           \
         &(d)->max_pixels,                                                     \
         1,                                                                    \
         2e9,                                                                  \
         .meta = "N",                                                          \
         .seen = &(d)->has_max_pixels,                                         \
         .help = "refuse larger images (default 67108864)"},                   \
    {                                                                          \
        "--max-memory", NULL, XF_CLI_STR, &(d)->max_memory,                    \
            .meta = "SIZE",                                                    \
            .help = "memory for the network's activations, e.g. 4G or 512M; "  \
                    "fewer workers when it holds fewer (default: 3/4 of RAM "  \
                    "or of the cgroup's limit)"                                \
    }

/* preprocessing overrides of extract-features (the file's own by default) */
typedef struct {
    int size, has_mean, has_std, interp, has_interp, full_decode;
    float crop, mean[3], std[3];
} xf_cli_preproc;
extern const char *const xf_cli_interp_names[]; /* "bilinear", "bicubic" */

#define XF_CLI_PREPROC_OPTS(p, d)                                                              \
    {"--size", NULL, XF_CLI_INT,  &(p)->size,                                                  \
     1,        4096, .meta = "N", .help = "input size (must equal the model's)"},              \
        {"--crop-pct",                                                                         \
         NULL,                                                                                 \
         XF_CLI_FLOAT,                                                                         \
         &(p)->crop,                                                                           \
         0.0501,                                                                               \
         1,                                                                                    \
         .meta = "F",                                                                          \
         .help = "resize the shorter side to size/F, then center crop (default: the file's)"}, \
        {"--mean",                                                                             \
         NULL,                                                                                 \
         XF_CLI_RGB,                                                                           \
         (p)->mean,                                                                            \
         .meta = "R,G,B",                                                                      \
         .seen = &(p)->has_mean,                                                               \
         .help = "subtracted from [0,1] pixels (default: the file's)"},                        \
        {"--std",                                                                              \
         NULL,                                                                                 \
         XF_CLI_RGB,                                                                           \
         (p)->std,                                                                             \
         .meta = "R,G,B",                                                                      \
         .seen = &(p)->has_std,                                                                \
         .help = "divides after the mean (default: the file's)"},                              \
        {"--interp",                                                                           \
         NULL,                                                                                 \
         XF_CLI_CHOICE,                                                                        \
         &(p)->interp,                                                                         \
         .choices = xf_cli_interp_names,                                                       \
         .seen = &(p)->has_interp,                                                             \
         .help = "resize filter (default: the file's)"},                                       \
        {"--no-exif-rotate", NULL, XF_CLI_FLAG, &(d)->no_exif,                                 \
         .help = "ignore JPEG EXIF orientation"},                                              \
        {"--full-decode", NULL, XF_CLI_FLAG, &(p)->full_decode,                                \
         .help = "decode JPEGs at full size, not DCT-scaled (slower; recorded)"},              \
        XF_CLI_DECODE_OPTS(d)

/* The usage exit code when a --mean (mean, NULL when not given) or --std is not on [0,1]
 * pixels (a 0..255 habit) or a --std is not > 0, else -1. */
int xf_cli_check_norm(const xf_cli *c, const float *mean, const float *std);
/* applies the flags to pp (the model's); p may be NULL (decoding policy only). Returns the
 * usage exit code when they do not fit the model, else -1. */
int xf_cli_apply_preproc(const xf_cli *c, const xf_model *m, xf_preproc *pp,
                         const xf_cli_preproc *p, const xf_cli_decode *d);

/* --shard I/N or auto/N (I from SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX) into long[2] */
int xf_cli_parse_shard(const char *v, void *dest, char *why, size_t n);
/* "N[,N...]" into xf_cli_ints (values in [1, 65536], at most max) */
typedef struct {
    int *v;
    int n, max;
} xf_cli_ints;
int xf_cli_parse_ints(const char *v, void *dest, char *why, size_t n);
/* --size N or HxW into int[2] */
int xf_cli_parse_size(const char *v, void *dest, char *why, size_t n);

/* A feature-file output: -o, --format (from -o's extension when not given), --classes. */
typedef struct {
    const char *path, *classes;
    int fmt, has_fmt; /* fmt: an xf_feats_format */
} xf_cli_feats_out;
#define XF_CLI_FEATS_OUT_OPTS(o)                                                                \
    {                                                                                           \
        "--out",                                                                                \
        "-o",                                                                                   \
        XF_CLI_STR,                                                                             \
        &(o)->path,                                                                             \
        .meta = "FILE",                                                                         \
        .help = "write to FILE (as FILE.partial, renamed when complete; '-': stdout)"},         \
        {"--format",                                                                            \
         NULL,                                                                                  \
         XF_CLI_CHOICE,                                                                         \
         &(o)->fmt,                                                                             \
         .choices = xf__feats_format_names,                                                     \
         .seen = &(o)->has_fmt,                                                                 \
         .help = "bin, npy, csv or libsvm (default: -o's extension .npy .csv .svm, else bin); " \
                 "npy: NAME.npy, NAME.paths.txt, NAME.failed.tsv"},                             \
    {                                                                                           \
        "--classes", NULL, XF_CLI_STR, &(o)->classes,                                           \
            .meta = "FILE",                                                                     \
            .help = "libsvm: label numbers from FILE (a NAME.classes.txt), not from the inputs" \
    }
/* Settles the format: --format when given, else what -o's extension names (.bin, .npy, .csv,
 * .svm or .libsvm), else bin. An extension naming another format than --format, npy without a
 * regular -o file, --classes without libsvm: usage errors. Returns the exit code, or -1. */
int xf_cli_feats_format(const xf_cli *c, xf_cli_feats_out *o);
/* --skip-existing: 1 (said on stderr unless quiet) when o's finished file is already there. */
int xf_cli_output_exists(const xf_cli *c, const xf_cli_feats_out *o, int quiet);

/* the threads to use: j, or the CPUs available */
int xf_cli_threads(int j);

/* The weights file to use: w->path, else $XFER_WEIGHTS, else the first present of the
 * preferred backbones in the weights folders (./weights, then beside the executable's build
 * folder). Opens it (checksum verified unless --no-verify); on failure says why on stderr,
 * with a hint when no weights were named, and returns the exit code (else -1). */
int xf_cli_open_model(const xf_cli *c, const xf_cli_weights *w, xf_model **m, const char **used);
/* The backbone whose data checksum is crc (named `name` where it was recorded): -w, checked to
 * be it, else the file of that checksum in the weights folders. Like xf_cli_open_model. */
int xf_cli_open_model_by_crc(const xf_cli *c, xf_cli_weights *w, uint32_t crc, const char *name,
                             xf_model **m, const char **used);
/* Opens path as a classifier (xf__classifier_open: *kind) and, when backbone, the model that
 * makes its features: a head's own backbone (by checksum, as above), else the classifier file
 * itself (-w may name another copy). Says why on stderr and returns the exit code (else -1). */
int xf_cli_open_classifier(const xf_cli *c, xf_cli_weights *w, const char *path, int backbone,
                           xf_head *h, int *kind, xf_model **m, const char **used);
/* The weights file in the weights folders whose data checksum is crc (1 when found), opening
 * only headers. */
int xf_cli_weights_by_crc(uint32_t crc, char *out, size_t size);

/* The model's tensors with op and shape, the default feature layer marked (--list-layers). */
void xf_cli_list_layers(const xf_model *m);

/* ---- progress on stderr: a bar on a terminal (fitted to its width), a line every 5 s else ---- */
typedef struct {
    const char *tool, *unit; /* "extract-features", "images" */
    size_t total, done, start;
    double t0, last;
    int tty, quiet, width, drawn;
} xf_cli_progress;

void xf_cli_progress_start(xf_cli_progress *p, const char *tool, const char *unit, size_t total,
                           size_t start, int quiet);
void xf_cli_progress_tick(xf_cli_progress *p, size_t done);
/* For a library's progress hook (user: the xf_cli_progress): the total may become known late. */
void xf_cli_progress_hook(void *user, size_t done, size_t total);
/* A line above the bar (a failed input's reason): the bar is redrawn after it. */
void xf_cli_progress_say(xf_cli_progress *p, const char *line);
/* Ends the bar with "done in N s". */
void xf_cli_progress_end(xf_cli_progress *p);

/* ---- standard output ---- */
/* After the last write to stdout: flushes it; on failure says "tool: stdout: write failed:
 * <reason>" and returns XF_EXIT_WRITE, else XF_EXIT_OK. */
int xf_cli_close_stdout(const xf_cli *c);

/* "R,G,B" flag values (1 when three numbers). */
int xf_cli_parse3(const char *s, float *v);

#endif /* XF_CLI_H */
