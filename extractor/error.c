/* error.c — status names, the caller-owned error message, logging and checked size arithmetic.
 *
 * It is: the only place that formats xf_error and routes diagnostics (default: stderr).
 * It is not: a global error string; nothing here keeps per-call state.
 */
#include "base.h"

#include <stdarg.h>
#include <string.h>

const char *xf_status_name(xf_status s)
{
    switch (s) {
    case XF_OK:
        return "XF_OK";
    case XF_ERR_IO:
        return "XF_ERR_IO";
    case XF_ERR_FORMAT:
        return "XF_ERR_FORMAT";
    case XF_ERR_NOMEM:
        return "XF_ERR_NOMEM";
    case XF_ERR_ARG:
        return "XF_ERR_ARG";
    case XF_ERR_UNSUPPORTED:
        return "XF_ERR_UNSUPPORTED";
    case XF_ERR_CHECKSUM:
        return "XF_ERR_CHECKSUM";
    case XF_ERR_BOUNDS:
        return "XF_ERR_BOUNDS";
    case XF_ERR_SHAPE:
        return "XF_ERR_SHAPE";
    case XF_ERR_VALUE:
        return "XF_ERR_VALUE";
    case XF_ERR_IMAGE:
        return "XF_ERR_IMAGE";
    case XF_ERR_WRITE:
        return "XF_ERR_WRITE";
    case XF_ERR_STOPPED:
        return "XF_ERR_STOPPED";
    case XF_ERR_INTERRUPTED:
        return "XF_ERR_INTERRUPTED";
    }
    return "XF_ERR_UNKNOWN";
}

xf_status xf__fail(xf_error *err, xf_status code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->code = code;
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

xf_status xf__wrap(xf_error *err, const char *prefix)
{
    if (!err)
        return XF_ERR_ARG;
    char tmp[sizeof err->msg + 300];
    snprintf(tmp, sizeof tmp, "%.280s: %s", prefix, err->msg);
    tmp[sizeof err->msg - 1] = 0;
    memcpy(err->msg, tmp, sizeof err->msg);
    return err->code;
}

static void log_stderr(xf_log_level level, const char *line, void *user)
{
    (void) level;
    (void) user;
    fputs(line, stderr);
}

static xf_log_fn g_log_fn = log_stderr;
static void *g_log_user = NULL;
static xf_log_level g_log_max = XF_LOG_INFO;

void xf_log_set(xf_log_fn fn, void *user, xf_log_level max_level)
{
    g_log_fn = fn ? fn : log_stderr;
    g_log_user = user;
    g_log_max = max_level;
}

void xf__log(xf_log_level level, const char *fmt, ...)
{
    if (level > g_log_max)
        return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    g_log_fn(level, line, g_log_user);
}

int xf__mul_size(size_t a, size_t b, size_t *out)
{
    if (a != 0 && b > SIZE_MAX / a)
        return 0;
    *out = a * b;
    return 1;
}

int xf__add_size(size_t a, size_t b, size_t *out)
{
    if (b > SIZE_MAX - a)
        return 0;
    *out = a + b;
    return 1;
}

void *xf__alloc(size_t n)
{
    size_t rounded;
    if (!xf__add_size(n, 63, &rounded))
        return NULL;
    rounded &= ~(size_t) 63;
    if (rounded == 0)
        rounded = 64;
    void *p = aligned_alloc(64, rounded);
    if (p)
        memset(p, 0, rounded);
    return p;
}

float xf__f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t) (h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f;
    uint32_t mant = h & 0x3ff;
    uint32_t bits;
    if (exp == 0) {
        if (mant == 0) {
            bits = sign;
        } else { /* subnormal: renormalise */
            exp = 127 - 15 + 1;
            while (!(mant & 0x400)) {
                mant <<= 1;
                exp--;
            }
            mant &= 0x3ff;
            bits = sign | (exp << 23) | (mant << 13);
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | (mant << 13);
    } else {
        bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
    }
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}
