/* tiny.h — builds a complete, valid tiny model (input 8x8x3 -> conv -> depthwise -> 1x1 conv ->
 * GAP -> dense -> softmax) with deterministic random weights, through the converters' builder.
 * It is: test data made at test time (no committed binaries). It is not: library code.
 */
#ifndef XF_TINY_H
#define XF_TINY_H

#include "graph_build.h"

#include <string.h>

static float tiny_rand(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return (float) (*s & 0xffff) / 65536.0f - 0.5f;
}

static float *tiny_weights(size_t n, uint32_t *s)
{
    float *w = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++)
        w[i] = tiny_rand(s);
    return w;
}

/* extra: optional hook to add metadata or break something before writing */
static xf_status tiny_write(const char *path, void (*extra)(xf_gbuild *), xf_error *err)
{
    xf_gbuild c;
    uint32_t s = 99;
    if (xf__gb_init(&c, err))
        return err->code;
    xf_node p;
    memset(&p, 0, sizeof p);
    p.op = XF_OP_INPUT, p.h = 8, p.w = 8, p.c = 3;
    int in = xf__gb_add(&c, &p, "image", NULL, err);
    memset(&p, 0, sizeof p);
    p.op = XF_OP_CONV2D, p.kh = p.kw = 3, p.sh = p.sw = 1, p.pt = p.pb = p.pl = p.pr = 1;
    p.cout = 4, p.act = XF_ACT_RELU, p.n_in = 1, p.in[0] = in;
    int c1 = xf__gb_add(&c, &p, "c1", NULL, err);
    int64_t s1[4] = {3, 3, 3, 4};
    xf__gb_set_params(&c, c1, tiny_weights(108, &s), s1, 4, tiny_weights(4, &s));
    memset(&p, 0, sizeof p);
    p.op = XF_OP_DWCONV2D, p.kh = p.kw = 3, p.sh = p.sw = 2, p.pb = p.pr = 1, p.mult = 1;
    p.act = XF_ACT_RELU6, p.n_in = 1, p.in[0] = c1;
    int d1 = xf__gb_add(&c, &p, "d1", NULL, err);
    int64_t s2[4] = {3, 3, 4, 1};
    xf__gb_set_params(&c, d1, tiny_weights(36, &s), s2, 4, tiny_weights(4, &s));
    memset(&p, 0, sizeof p);
    p.op = XF_OP_CONV2D, p.kh = p.kw = p.sh = p.sw = 1, p.cout = 6, p.n_in = 1, p.in[0] = d1;
    int c2 = xf__gb_add(&c, &p, "c2", NULL, err);
    int64_t s3[4] = {1, 1, 4, 6};
    xf__gb_set_params(&c, c2, tiny_weights(24, &s), s3, 4, tiny_weights(6, &s));
    memset(&p, 0, sizeof p);
    p.op = XF_OP_GAP, p.n_in = 1, p.in[0] = c2;
    int gp = xf__gb_add(&c, &p, "pool", NULL, err);
    memset(&p, 0, sizeof p);
    p.op = XF_OP_DENSE, p.cout = 3, p.n_in = 1, p.in[0] = gp;
    int fc = xf__gb_add(&c, &p, "fc", "logits", err);
    int64_t s4[2] = {6, 3};
    xf__gb_set_params(&c, fc, tiny_weights(18, &s), s4, 2, tiny_weights(3, &s));
    memset(&p, 0, sizeof p);
    p.op = XF_OP_SOFTMAX, p.n_in = 1, p.in[0] = fc;
    xf__gb_add(&c, &p, "prob", NULL, err);
    float mean[3] = {0.5f, 0.5f, 0.5f}, sd[3] = {0.25f, 0.25f, 0.25f};
    const char *labels[3] = {"red", "green", "blue"};
    xf__ww_str(c.meta, "general.architecture", "tiny");
    xf__ww_str(c.meta, "general.name", "tiny test model");
    xf__ww_str(c.meta, "xfer.kind", "backbone");
    xf__ww_u32(c.meta, "xfer.input.height", 8);
    xf__ww_u32(c.meta, "xfer.input.width", 8);
    xf__ww_str(c.meta, "xfer.input.color", "rgb");
    xf__ww_f32(c.meta, "xfer.input.crop_pct", 1.0f);
    xf__ww_f32s(c.meta, "xfer.input.mean", mean, 3);
    xf__ww_f32s(c.meta, "xfer.input.std", sd, 3);
    xf__ww_str(c.meta, "xfer.feature.layer", "c2");
    xf__ww_strs(c.meta, "xfer.labels", labels, 3);
    if (extra)
        extra(&c);
    xf_status st = xf__gb_write(&c, path, err);
    xf__gb_free(&c);
    return st;
}

#endif
