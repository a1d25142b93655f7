# tflite_ref.py — an independent float reference for xfer's TFLite import: its own small
# FlatBuffers reader (Python, written from TFLite's public schema.fbs, sharing nothing with
# weights/convert/tflite.c) and a numpy interpreter of the dequantized graph. It compares, per
# photo, xfer's pooled features (cosine >= 0.999) and its softmax top-5 (probabilities within
# 0.02, same top-1). Needs Debian python3-numpy. Not part of `make test` (tests/shared/run.sh).
# Usage: /usr/bin/python3 tflite_ref.py MODEL.tflite XFER_FEATS.npy XFER_PROBS.npy INPUTS.npy
import struct, sys, numpy as np

class FB:
    def __init__(self, b): self.b = b
    def u32(self, p): return struct.unpack_from("<I", self.b, p)[0]
    def field(self, t, i):
        vt = t - struct.unpack_from("<i", self.b, t)[0]
        vsize = struct.unpack_from("<H", self.b, vt)[0]
        if 4 + 2 * i >= vsize: return None
        off = struct.unpack_from("<H", self.b, vt + 4 + 2 * i)[0]
        return t + off if off else None
    def table(self, t, i):
        p = self.field(t, i); return None if p is None else p + self.u32(p)
    def vector(self, t, i):
        p = self.field(t, i)
        if p is None: return None, 0
        v = p + self.u32(p); return v + 4, self.u32(v)
    def tables(self, t, i):
        v, n = self.vector(t, i); return [v + 4 * k + self.u32(v + 4 * k) for k in range(n)]
    def scalar(self, t, i, fmt, default):
        p = self.field(t, i); return default if p is None else struct.unpack_from("<" + fmt, self.b, p)[0]
    def array(self, t, i, dtype):
        v, n = self.vector(t, i)
        return np.zeros(0, dtype) if v is None else np.frombuffer(self.b, dtype, n, v)

def load(path):
    fb = FB(open(path, "rb").read())
    model = fb.u32(0)
    codes = [max(fb.scalar(c, 3, "i", 0), fb.scalar(c, 0, "b", 0)) for c in fb.tables(model, 1)]
    buffers = fb.tables(model, 4)
    sub = fb.tables(model, 2)[0]
    tensors = []
    for t in fb.tables(sub, 0):
        q = fb.table(t, 4)
        tensors.append(dict(shape=list(fb.array(t, 0, "<i4")), type=fb.scalar(t, 1, "b", 0),
                            buffer=fb.scalar(t, 2, "I", 0),
                            scale=fb.array(q, 2, "<f4") if q else np.zeros(0),
                            zp=fb.array(q, 3, "<i8") if q else np.zeros(0, "<i8"),
                            qdim=fb.scalar(q, 6, "i", 0) if q else 0))
    ops = []
    for o in fb.tables(sub, 3):
        ops.append(dict(code=codes[fb.scalar(o, 0, "I", 0)], ins=list(fb.array(o, 1, "<i4")),
                        outs=list(fb.array(o, 2, "<i4")), opt=fb.table(o, 4)))
    return fb, tensors, buffers, ops, list(fb.array(sub, 1, "<i4"))

DT = {0: "<f4", 2: "<i4", 3: "u1", 4: "<i8", 9: "i1", 1: "<f2"}

def const(fb, t, buffers):
    data = fb.array(buffers[t["buffer"]], 0, "u1")
    a = np.frombuffer(data.tobytes(), DT[t["type"]]).astype(np.float64).reshape(t["shape"])
    if t["type"] in (0, 1) or len(t["scale"]) == 0: return a
    s, z = t["scale"].astype(np.float64), t["zp"].astype(np.float64)
    if len(s) > 1:
        shp = [1] * a.ndim; shp[t["qdim"]] = -1
        s, z = s.reshape(shp), (z.reshape(shp) if len(z) > 1 else z)
    return s * (a - z)

def pad_same(x, k, s):
    out = -(-x // s); tot = max((out - 1) * s + k - x, 0); return tot // 2, tot - tot // 2

def act(x, f):
    return np.maximum(x, 0) if f == 1 else np.clip(x, 0, 6) if f == 3 else x

def conv(x, w, b, stride, padding, f, depthwise, mult=1):
    # x (H, W, C); conv w (O, kh, kw, I); depthwise w (1, kh, kw, C*mult)
    kh, kw = w.shape[1], w.shape[2]
    if padding == 0:
        (t, bo), (l, r) = pad_same(x.shape[0], kh, stride[0]), pad_same(x.shape[1], kw, stride[1])
        x = np.pad(x, ((t, bo), (l, r), (0, 0)))
    oh, ow = (x.shape[0] - kh) // stride[0] + 1, (x.shape[1] - kw) // stride[1] + 1
    cols = np.stack([x[i:i + stride[0] * oh:stride[0], j:j + stride[1] * ow:stride[1]]
                     for i in range(kh) for j in range(kw)], 2)  # (oh, ow, kh*kw, C)
    if depthwise:
        cols = np.repeat(cols, mult, axis=3)
        y = np.einsum("hwkc,kc->hwc", cols, w.reshape(kh * kw, -1))
    else:
        y = np.einsum("hwkc,okc->hwo", cols, w.reshape(w.shape[0], kh * kw, -1))
    return act(y + (b if b is not None else 0), f)

def run(model, image):
    fb, T, B, ops, inputs = model
    vals = {}
    it = T[inputs[0]]
    s, z = float(it["scale"][0]), float(it["zp"][0])
    q = image * 255.0 - (128.0 if it["type"] == 9 else 0.0)   # the integer the model expects
    vals[inputs[0]] = s * (q - z)
    pooled_input = None
    def get(i): return vals[i] if i in vals else const(fb, T[i], B)
    for op in ops:
        c, o, opt = op["code"], op["outs"][0], op["opt"]
        x = get(op["ins"][0]) if op["ins"][0] >= 0 else None
        if c in (6, 114): y = x
        elif c in (3, 4):
            w = const(fb, T[op["ins"][1]], B)
            b = const(fb, T[op["ins"][2]], B) if len(op["ins"]) > 2 and op["ins"][2] >= 0 else None
            stride = (fb.scalar(opt, 2, "i", 1), fb.scalar(opt, 1, "i", 1))
            f = fb.scalar(opt, 3 if c == 3 else 4, "b", 0)
            y = conv(x, w, b, stride, fb.scalar(opt, 0, "b", 0), f, c == 4, fb.scalar(opt, 3, "i", 1) if c == 4 else 1)
        elif c == 0: y = act(x + get(op["ins"][1]), fb.scalar(opt, 0, "b", 0))
        elif c == 1:  # average pool: record its input when global
            fw, fh = fb.scalar(opt, 3, "i", 1), fb.scalar(opt, 4, "i", 1)
            if (fh, fw) == x.shape[:2]: pooled_input = x
            assert (fh, fw) == x.shape[:2], "only global average pooling in these models"
            y = x.mean((0, 1), keepdims=True)
        elif c == 40: pooled_input = x; y = x.mean((0, 1), keepdims=True)
        elif c in (22, 43): y = x.reshape(-1)
        elif c == 9:
            w = const(fb, T[op["ins"][1]], B); b = const(fb, T[op["ins"][2]], B)
            y = act(w @ x.reshape(-1) + b, fb.scalar(opt, 0, "b", 0))
        elif c == 25: e = np.exp(x - x.max()); y = e / e.sum()
        elif c == 34:
            p = const(fb, T[op["ins"][1]], B).astype(int); y = np.pad(x, [tuple(p[1]), tuple(p[2]), tuple(p[3])])
        else: raise SystemExit(f"reference: op {c} not implemented")
        vals[o] = y
    return pooled_input.mean((0, 1)), np.asarray(y).reshape(-1)

model = load(sys.argv[1])
feats, probs, imgs = np.load(sys.argv[2]), np.load(sys.argv[3]), np.load(sys.argv[4])
worst_cos, worst_p, top1 = 1.0, 0.0, True
for k in range(len(imgs)):
    f, p = run(model, imgs[k].astype(np.float64))
    cos = float(f @ feats[k] / (np.linalg.norm(f) * np.linalg.norm(feats[k])))
    t5 = np.argsort(-p)[:5]
    worst_cos, worst_p = min(worst_cos, cos), max(worst_p, float(np.abs(p[t5] - probs[k][t5]).max()))
    top1 &= int(np.argmax(p)) == int(np.argmax(probs[k]))
print(f"{len(imgs)} photos: feature cosine >= {worst_cos:.8f}, top-5 probability diff <= {worst_p:.2e}, "
      f"top-1 {'equal' if top1 else 'DIFFERS'}")
sys.exit(0 if worst_cos >= 0.999 and worst_p <= 0.02 and top1 else 1)
