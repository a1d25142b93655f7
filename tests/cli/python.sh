#!/bin/sh
# python.sh — the Python package (python/xfer) against the tools, with Debian's numpy: the
# arrays equal extract-features' npy output bit for bit, for paths, encoded bytes and uint8
# arrays; errors are XferError with the library's message; the scikit-learn transformer inside
# a Pipeline when scikit-learn is installed. It is: a check of the binding. It is not: a test of
# the engine (the unit tests are).
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
if ! $PY -c 'import numpy' 2>/dev/null; then
  echo "SKIP the Python package: /usr/bin/python3 has no numpy (make deps-oracles)"; finish; exit
fi
case "${XF_TEST_CC:-}" in *sanitize*)
  echo "SKIP the Python package: a sanitizer build's libxfer.so needs its runtime in python3"; finish; exit;;
esac
T=$B/tests/cli-python; rm -rf "$T"; mkdir -p "$T"
W=$TD/tiny.gguf; CLS=$TD/cls
$B/extract-features -w $W --quiet $CLS -o "$T/f.npy"
$B/extract-features -w $W --quiet --layer c1 --layer c2 --pool max $CLS -o "$T/g.npy"
$B/extract-features -w $W --quiet $CLS $TD/img -o "$T/r.bin" 2>/dev/null
for f in npy csv svm; do $B/xfer-feats convert "$T/r.bin" -o "$T/r.$f"; done
$B/extract-features -w $W --quiet $CLS -o "$T/c.bin"
$B/train-classifier "$T/c.bin" -o "$T/lr.gguf" --quiet 2>/dev/null
$B/train-classifier "$T/c.bin" -o "$T/svm.gguf" --solver svm --quiet 2>/dev/null
for h in lr svm; do $B/classify -m "$T/$h.gguf" --top 99 --format json --quiet "$T/c.bin" > "$T/$h.jsonl"; done
cp $W "$T/flip.gguf"; size=$(stat -c %s "$T/flip.gguf")
printf '\377' | dd of="$T/flip.gguf" bs=1 seek=$((size - 9)) conv=notrunc 2>/dev/null
XFER_LIBRARY=$B/libxfer.so.0 PYTHONPATH=python $PY - "$T" "$W" > "$T/out" 2>&1 <<'PYEOF'
import os, sys, struct
import numpy as np
import xfer
T, W = sys.argv[1], sys.argv[2]
def say(ok, what): print(("ok   " if ok else "FAIL ") + what)
paths = [l.rstrip("\n") for l in open(T + "/f.paths.txt")]
ref = np.load(T + "/f.npy")
m = xfer.Model(W)
X = m.extract(paths)
say(X.dtype == np.float32 and X.shape == ref.shape, "shape %s float32" % (X.shape,))
say(np.array_equal(X, ref), "paths: equal to extract-features' npy bit for bit")
say(np.array_equal(m.extract(paths, batch=1), ref), "batch 1: the same bits")
B = m.extract([open(p, "rb").read() for p in paths])
say(np.array_equal(B, ref), "encoded bytes: the same bits")
G = m.extract(paths, layer=["c1", "c2"], pool="max")
say(np.array_equal(G, np.load(T + "/g.npy")), "layers c1,c2 pooled max: equal to --layer c1 --layer c2 --pool max")
# a uint8 array and the 24-bit BMP file of the same pixels
rng = np.random.default_rng(0)
a = rng.integers(0, 256, (37, 53, 3), dtype=np.uint8)
row = (53 * 3 + 3) // 4 * 4
bmp = bytearray(b"BM" + struct.pack("<IHHI", 54 + row * 37, 0, 0, 54)
                + struct.pack("<IiiHHIIiiII", 40, 53, 37, 1, 24, 0, row * 37, 2835, 2835, 0, 0))
for y in range(36, -1, -1):
    line = a[y, :, ::-1].tobytes()
    bmp += line + b"\0" * (row - len(line))
open(T + "/a.bmp", "wb").write(bmp)
A, F = m.extract([a, a[:, :, 0]]), m.extract([T + "/a.bmp"])
say(np.array_equal(A[0], F[0]), "uint8 (h, w, 3) array: the same bits as its BMP file")
say(np.array_equal(A[1], m.extract([np.repeat(a[:, :, :1], 3, axis=2)])[0]), "grey (h, w): as its three channels")
say(np.array_equal(m.extract([a[:, ::2]]), m.extract([np.ascontiguousarray(a[:, ::2])])), "a strided view: as its copy")
# read_features: every format, against the npy of the same run
refr = np.load(T + "/r.npy")
pathsr = [l.rstrip("\n") for l in open(T + "/r.paths.txt")]
Xb, pb, lb, ib = xfer.read_features(T + "/r.bin")
say(np.array_equal(Xb, refr) and pb == pathsr, "read_features(feats.bin): rows and paths as the npy")
say(lb == [os.path.basename(os.path.dirname(p)) for p in pb], "... labels: the class folders")
say(ib["weights"] == m.name and len(ib["failed"]) == 4 and ib["failed"][0][1].startswith("XF_ERR"),
    "... provenance and the 4 failed records with their status")
Xn, pn, _, inn = xfer.read_features(T + "/r.npy")
say(np.array_equal(Xn, refr) and pn == pathsr and len(inn["failed"]) == 4, "read_features(npy)")
Xc, pc, _, ic = xfer.read_features(T + "/r.csv")
say(np.allclose(Xc, refr, rtol=1e-6, atol=0) and pc == pathsr and len(ic["failed"]) == 4, "read_features(csv)")
Xs, ps, ls, _ = xfer.read_features(T + "/r.svm")
say(np.allclose(Xs, refr, rtol=1e-6, atol=1e-7) and ps == pathsr and ls == lb, "read_features(libsvm): labels by name")
# Classifier: what classify prints, from the rows
import json
Xb, pb, lb, ib = xfer.read_features(T + "/c.bin")
for h in ("lr", "svm"):
    c = xfer.Classifier(T + "/%s.gguf" % h)
    P = c.predict_proba(Xb)
    lines = [json.loads(l) for l in open(T + "/%s.jsonl" % h)]
    lines = [l for l in lines if "top" in l]
    worst = 0.0
    same = len(lines) == len(Xb)
    for r, l in enumerate(lines):
        same = same and l["path"] == pb[r] and l["top"][0]["label"] == c.predict(Xb[r])[0]
        for e in l["top"]:
            worst = max(worst, abs(P[r, list(c.classes_).index(e["label"])] - e["prob"]))
    say(same and worst <= 6e-7, "Classifier(%s head).predict_proba: classify's probabilities (worst %.1e; printed to 6 places) and labels" % (h, worst))
c = xfer.Classifier(T + "/lr.gguf")
say(c.kind == "head" and c.n_features_in_ == Xb.shape[1] and list(c.classes_) == sorted(set(lb)), "... kind, dimension and classes")
say(np.allclose(c.predict_proba(Xb).sum(axis=1), 1, atol=1e-6), "... rows sum to 1")
def accepts(info):
    try:
        c.check(info)
        return True
    except xfer.XferError:
        return False
say(accepts(ib), "... check(read_features' info) accepts its own features")
def raises(f, status, text):
    try:
        f()
    except xfer.XferError as e:
        return e.status == status and text in str(e)
    return False
say(raises(lambda: m.extract(["/no/such.png"]), "XF_ERR_IO", "/no/such.png"), "missing file: XferError XF_ERR_IO naming it")
say(raises(lambda: m.extract([b"not an image"]), "XF_ERR_UNSUPPORTED", "") or
    raises(lambda: m.extract([b"not an image"]), "XF_ERR_IMAGE", ""), "bad bytes: XferError")
say(raises(lambda: m.extract(paths[:1], layer="nope"), "XF_ERR_ARG", "nope"), "unknown layer: XferError naming it")
say(raises(lambda: xfer.Model(T + "/flip.gguf"), "XF_ERR_CHECKSUM", "CRC32C"), "flipped weights refused")
say(raises(lambda: xfer.read_features(W), "XF_ERR_FORMAT", ""), "read_features of a weights file: XferError")
say(xfer.Model(T + "/flip.gguf", verify=False).checksum == m.checksum, "verify=False opens them")
say(raises(lambda: c.predict_proba(Xb[:, :-1]), "XF_ERR_ARG", "expects"), "Classifier: a wrong dimension refused")
bad = Xb[:2].copy(); bad[1, 3] = np.nan
say(raises(lambda: c.predict_proba(bad), "XF_ERR_VALUE", "row 1"), "Classifier: a NaN refused, naming its row")
say(raises(lambda: c.check(dict(ib, layers=["c1"])), "XF_ERR_ARG", ""), "Classifier.check: other features refused")
try:
    from sklearn.pipeline import Pipeline
    from sklearn.linear_model import LogisticRegression
except ImportError:
    print("SKIP scikit-learn Pipeline: python3-sklearn not installed (make deps-bench)")
else:
    y = [os.path.basename(os.path.dirname(p)) for p in paths]
    pipe = Pipeline([("features", xfer.FeatureExtractor(W)), ("clf", LogisticRegression())])
    pipe.fit(paths, y)
    say(np.array_equal(pipe[:-1].transform(paths), ref), "FeatureExtractor in a Pipeline: the same features")
    say(len(pipe.predict(paths)) == len(paths) and pipe.score(paths, y) > 0.5, "Pipeline fits and predicts (score %.2f)" % pipe.score(paths, y))
PYEOF
check "python ran ($(tail -1 "$T/out"))" "! grep -q Traceback $T/out"
grep -E '^(FAIL|SKIP)' "$T/out"
pass=$((pass + $(grep -c '^ok ' "$T/out"))); fail=$((fail + $(grep -c '^FAIL' "$T/out")))
finish
