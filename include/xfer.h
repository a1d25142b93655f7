/* xfer.h — the one public header of libxfer: frozen conv-net feature extraction on the CPU.
 *
 * It is: opaque model/session handles, status codes with a caller-owned error message, image
 * loading + preprocessing, batched forward passes that write pooled feature vectors into caller
 * buffers, feature files, and applying a trained classifier. It is not: a training API (see
 * classifier/) or a weights writer (weights/).
 *
 * Usage (this block is examples/minimal.c, which `make test` builds and runs):
 *
 *     xf_error err;
 *     xf_model *model = NULL;
 *     if (xf_model_open("weights/mobilenet_v2.gguf", NULL, &model, &err) != XF_OK) {
 *         fprintf(stderr, "%s\n", err.msg);
 *         return 1;
 *     }
 *     xf_session_opts so = xf_session_default_opts();          // default feature layer, avg pool
 *     xf_session *sess = NULL;
 *     if (xf_session_create(model, &so, &sess, &err) != XF_OK) { ... }
 *     int64_t dim = xf_session_feat_dim(sess);
 *     float *img = malloc(xf_model_input_len(model) * sizeof(float));   // (1, H, W, 3)
 *     float *feat = malloc(dim * sizeof(float));
 *     xf_preproc pp = xf_model_preproc(model);
 *     if (xf_image_load("cat.jpg", &pp, img, &err) == XF_OK &&
 *         xf_session_run(sess, img, 1, feat, dim, &err) == XF_OK) { ... use feat ... }
 *     xf_session_free(sess);
 *     xf_model_free(model);
 *
 * Ownership: the creator frees; every *_free(NULL) is a no-op; out-pointers are NULL on failure.
 * Threads: an xf_model is immutable after open and may be shared by any number of threads; an
 * xf_session belongs to one thread at a time.
 */
#ifndef XFER_H
#define XFER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define XF_VERSION_STRING "0.1.0"

/* what libxfer.so exports (it is built with -fvisibility=hidden: nothing else is) */
#if defined(__GNUC__)
#define XF_API __attribute__((visibility("default")))
#else
#define XF_API
#endif

typedef enum {
    XF_OK = 0,
    XF_ERR_IO = -1,           /* open/read/write/mmap failed, or the file is truncated        */
    XF_ERR_FORMAT = -2,       /* the bytes are not a valid file of the expected kind          */
    XF_ERR_NOMEM = -3,        /* allocation failed                                            */
    XF_ERR_ARG = -4,          /* a bad argument from the caller (unknown layer, bad size, ...) */
    XF_ERR_UNSUPPORTED = -5,  /* valid but not supported (op, tensor type, image format)      */
    XF_ERR_CHECKSUM = -6,     /* the data section does not match xfer.data.crc32c             */
    XF_ERR_BOUNDS = -7,       /* a count, size or offset is out of range (overflow, past EOF) */
    XF_ERR_SHAPE = -8,        /* a tensor's shape does not match what the graph needs         */
    XF_ERR_VALUE = -9,        /* a NaN or Inf value, or a value outside its allowed range     */
    XF_ERR_IMAGE = -10,       /* an image is corrupt, truncated or too large                  */
    XF_ERR_WRITE = -11,       /* an output cannot be written (no folder, disk full, permission) */
    XF_ERR_STOPPED = -12,     /* the work was stopped on purpose (a failure limit was reached) */
    XF_ERR_INTERRUPTED = -13, /* stopped by a signal (SIGTERM, SIGINT, SIGHUP): worth retrying */
} xf_status;

/* Caller-owned error: every function that can fail fills it (when not NULL). */
typedef struct {
    xf_status code;
    char msg[512]; /* one line: "<file>: <what>: <why>" */
} xf_error;

XF_API const char *xf_status_name(xf_status s); /* "XF_ERR_IO", ...; static storage */

/* ---- logging ------------------------------------------------------------------------------ */
typedef enum { XF_LOG_ERROR = 0, XF_LOG_WARN = 1, XF_LOG_INFO = 2, XF_LOG_DEBUG = 3 } xf_log_level;
typedef void (*xf_log_fn)(xf_log_level level, const char *line, void *user);
/* Redirect diagnostics (default: stderr, level <= INFO). Not thread-safe: call at start-up. */
XF_API void xf_log_set(xf_log_fn fn, void *user, xf_log_level max_level);

/* ---- model ------------------------------------------------------------------------------- */
typedef struct xf_model xf_model;

typedef struct {
    int verify_checksum; /* 1 (default): check xfer.data.crc32c at open (reads every byte once;
                          * about 1 ms per 10 MB)                                           */
} xf_open_opts;

XF_API xf_open_opts xf_open_default_opts(void);

/* Opens and validates a weights file (weights/FORMAT.md). The file is mmapped read-only.
 * Statuses: XF_ERR_IO, XF_ERR_FORMAT, XF_ERR_BOUNDS, XF_ERR_SHAPE, XF_ERR_VALUE,
 * XF_ERR_UNSUPPORTED, XF_ERR_CHECKSUM, XF_ERR_NOMEM. opts NULL: xf_open_default_opts(). */
XF_API xf_status xf_model_open(const char *path, const xf_open_opts *opts, xf_model **out,
                               xf_error *err);
XF_API void xf_model_free(xf_model *model);

/* Metadata string value for key (e.g. "general.name"), or NULL. Lives as long as the model. */
XF_API const char *xf_model_meta_str(const xf_model *model, const char *key);
/* CRC-32C of the file's data section (xfer.data.crc32c): identifies the weights. */
XF_API uint32_t xf_model_checksum(const xf_model *model);

/* Input geometry: (1, H, W, C) float elements of one preprocessed image. */
XF_API int xf_model_input_height(const xf_model *model);
XF_API int xf_model_input_width(const xf_model *model);
XF_API size_t xf_model_input_len(const xf_model *model);

/* Named tensors (node outputs) in graph order: index 0 .. count-1. */
XF_API int xf_model_tensor_count(const xf_model *model);
XF_API const char *xf_model_tensor_name(const xf_model *model, int i);
/* The op that produces tensor i ("conv2d", "gap", ...; weights/FORMAT.md §1.1), or NULL. */
XF_API const char *xf_model_tensor_op(const xf_model *model, int i);
/* Output shape of tensor i for one image: h, w, c (dense outputs have h = w = 1); all 0 when i
 * is out of range. */
XF_API void xf_model_tensor_shape(const xf_model *model, int i, int64_t *h, int64_t *w, int64_t *c);
XF_API int xf_model_tensor_find(const xf_model *model, const char *name); /* -1 when absent */
XF_API const char *xf_model_default_layer(const xf_model *model);

/* Class labels stored in the file (ImageNet names, a head's classes), count may be 0. */
XF_API int xf_model_label_count(const xf_model *model);
XF_API const char *xf_model_label(const xf_model *model, int i);

/* ---- preprocessing ------------------------------------------------------------------------ */
enum { XF_INTERP_BILINEAR = 0, XF_INTERP_BICUBIC = 1 };
/* training augmentation (xf_preproc.augment), every choice a function of aug_seed */
enum {
    XF_AUG_NONE = 0,
    XF_AUG_CROP = 1,  /* random resized crop (area 8-100%, aspect 3/4-4/3) + horizontal flip */
    XF_AUG_WEAK = 2,  /* a milder crop (area 60-100%) + flip: FixMatch's weak view             */
    XF_AUG_STRONG = 3 /* XF_AUG_CROP + two RandAugment colour operations + cutout              */
};
typedef struct {
    int size_h, size_w;  /* network input (after crop)                                         */
    float crop_pct;      /* shorter side resized to size/crop_pct, then center crop; 1 = none  */
    float mean[3];       /* subtracted from RGB in [0,1]                                       */
    float std[3];        /* then divided                                                       */
    int exif_rotate;     /* 1: apply the JPEG EXIF orientation                                 */
    int64_t max_pixels;  /* refuse images with more pixels than this (0: 64 MP)                */
    int allow_truncated; /* 1: accept JPEGs libjpeg warns about (grey-filled data)             */
    int augment;         /* XF_AUG_*: instead of resize + center crop (training augmentation) */
    uint64_t aug_seed;   /* the random choices are a function of this seed only              */
    int interp;          /* XF_INTERP_BILINEAR (0) or XF_INTERP_BICUBIC: Pillow's filters,
                          * widened when downscaling (antialiased) as Image.resize does       */
    int full_decode;     /* 1: JPEGs decoded at full size; 0: at the largest 1/2, 1/4 or 1/8
                          * (libjpeg's DCT scaling) that keeps twice the resize target        */
} xf_preproc;

/* The model's own preprocessing (from its metadata). */
XF_API xf_preproc xf_model_preproc(const xf_model *model);

/* Decodes a JPEG, PNG, BMP, WebP, GIF (first frame) or TIFF (first page), sniffed from the
 * bytes, and writes (1, size_h, size_w, 3) floats.
 * Statuses: XF_ERR_IO, XF_ERR_IMAGE, XF_ERR_UNSUPPORTED, XF_ERR_NOMEM, XF_ERR_ARG. */
XF_API xf_status xf_image_load(const char *path, const xf_preproc *pp, float *out, xf_error *err);
/* From decoded pixels: rgb (h, w, 3) uint8 rows of stride bytes (0: w * 3), as numpy's or
 * Pillow's arrays hold them; resized, cropped and normalised as a file would be (no EXIF).
 * Statuses: XF_ERR_ARG, XF_ERR_IMAGE (over max_pixels), XF_ERR_NOMEM. */
XF_API xf_status xf_image_from_rgb(const uint8_t *rgb, int w, int h, size_t stride,
                                   const xf_preproc *pp, float *out, xf_error *err);
/* The same from memory; name is used in messages only. */
XF_API xf_status xf_image_load_mem(const void *data, size_t len, const char *name,
                                   const xf_preproc *pp, float *out, xf_error *err);

/* ---- session ------------------------------------------------------------------------------ */
typedef struct xf_session xf_session;

typedef enum { XF_POOL_AVG = 0, XF_POOL_MAX = 1, XF_POOL_NONE = 2 } xf_pool;

#define XF_MAX_LAYERS 16
typedef struct {
    int max_batch;                     /* images per xf_session_run call (default 1)        */
    int n_layers;                      /* 0: the model's default feature layer              */
    const char *layers[XF_MAX_LAYERS]; /* tensor names; outputs are concatenated in order   */
    xf_pool pool;                      /* per-layer spatial pooling (NONE: flatten H*W*C)   */
    int l2norm;                        /* 1: each image's whole vector scaled to unit length */
    int threads;                       /* > 0: OpenBLAS threads of the whole process (its pool
                                        * is global: the last session created with threads set
                                        * wins); 0: leave as is. For parallel sessions use 1.
                                        * Above 1 OpenBLAS may split a layer, whose sums then
                                        * run in another order: features differ in the last
                                        * bits from 1 thread's (xf_pipeline always uses 1). */
} xf_session_opts;

XF_API xf_session_opts xf_session_default_opts(void);

/* Checks opts against the model (layer names, pooling) and gives the feature length a session
 * would produce, allocating nothing. Statuses: XF_ERR_ARG. */
XF_API xf_status xf_session_check(const xf_model *model, const xf_session_opts *opts,
                                  int64_t *feat_dim, xf_error *err);

/* Plans memory for opts (one arena; xf_session_run does no allocation).
 * Statuses: XF_ERR_ARG (unknown layer, bad batch), XF_ERR_NOMEM. */
XF_API xf_status xf_session_create(const xf_model *model, const xf_session_opts *opts,
                                   xf_session **out, xf_error *err);
XF_API void xf_session_free(xf_session *sess);

/* Feature length per image: sum over layers of C (pooled) or H*W*C (pool NONE). */
XF_API int64_t xf_session_feat_dim(const xf_session *sess);

/* Runs n images (n <= max_batch): input (n, H, W, 3), out (n, feat_dim). out_len in floats. */
XF_API xf_status xf_session_run(xf_session *sess, const float *input, int n, float *out,
                                size_t out_len, xf_error *err);

/* ---- feature files ------------------------------------------------------------------------ */
typedef struct xf_features xf_features;

/* Reads a whole feats.bin (weights/FORMAT.md §2): every record, failed ones included, in file
 * order. Statuses: XF_ERR_IO, XF_ERR_FORMAT (not a feature file, a cut-off record: the message
 * names the record), XF_ERR_BOUNDS, XF_ERR_NOMEM. */
XF_API xf_status xf_features_read(const char *path, xf_features **out, xf_error *err);
XF_API void xf_features_free(xf_features *f);
XF_API size_t xf_features_count(const xf_features *f);
XF_API int64_t xf_features_dim(const xf_features *f);
/* The provenance header: JSON (weights, checksum, layers, pooling, preprocessing, roots). */
XF_API const char *xf_features_header(const xf_features *f);
/* Record i: its input path; XF_OK or the status it failed with (and why, else NULL); its
 * feature row (dim floats; zeros for a failed record). */
XF_API const char *xf_features_path(const xf_features *f, size_t i);
XF_API xf_status xf_features_status(const xf_features *f, size_t i);
XF_API const char *xf_features_reason(const xf_features *f, size_t i);
XF_API const float *xf_features_row(const xf_features *f, size_t i);
/* Record i's class by its path, the rule every tool applies (torchvision's ImageFolder: the
 * top-level folder under a walked root the header records, else the folder it is in); NULL
 * when it has none. */
XF_API const char *xf_features_class(const xf_features *f, size_t i);

/* ---- classifiers -------------------------------------------------------------------------- */
typedef struct xf_classifier xf_classifier;

/* Opens what classify -m takes: a head file (train-classifier: a linear layer on the features
 * of its backbone) or a weights file whose last tensor is a softmax over its labels (finetune's
 * output, an ImageNet backbone: its features are already the probabilities).
 * Statuses: those of xf_model_open. opts NULL: xf_open_default_opts(). */
XF_API xf_status xf_classifier_open(const char *path, const xf_open_opts *opts, xf_classifier **out,
                                    xf_error *err);
XF_API void xf_classifier_free(xf_classifier *c);
XF_API const char *xf_classifier_kind(const xf_classifier *c); /* "head", "finetuned", "backbone" */
XF_API int64_t xf_classifier_dim(const xf_classifier *c);      /* feature length it takes */
XF_API int xf_classifier_class_count(const xf_classifier *c);
XF_API const char *xf_classifier_class(const xf_classifier *c, int i); /* NULL out of range */
/* The provenance of the features it was trained on (the JSON of xf_features_header). */
XF_API const char *xf_classifier_features(const xf_classifier *c);
/* XF_ERR_ARG, naming the first difference, unless features with this header and length are
 * what the classifier was trained on (same weights, layers, pooling and preprocessing). */
XF_API xf_status xf_classifier_check(const xf_classifier *c, const char *features_header,
                                     int64_t dim, xf_error *err);
/* n rows x (n, dim) to class probabilities prob (n, class_count), as classify computes them;
 * dec (n, class_count) receives the decision values when not NULL (the probabilities again for a
 * softmax model). Statuses: XF_ERR_ARG (dim), XF_ERR_VALUE (a NaN or Inf in x), XF_ERR_NOMEM. */
XF_API xf_status xf_classifier_predict(const xf_classifier *c, const float *x, size_t n,
                                       int64_t dim, float *prob, float *dec, xf_error *err);

#ifdef __cplusplus
}
#endif
#endif /* XFER_H */
