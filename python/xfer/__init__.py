"""xfer from Python: a frozen conv net's features as numpy arrays, through libxfer.so.

It is: ctypes over the public C API of include/xfer.h (nothing else of the library is
reachable), numpy arrays in and out, and a scikit-learn transformer when scikit-learn is
installed. It is not: a second implementation: every number comes from the C library, so an
array equals what extract-features writes, bit for bit.

    import xfer
    m = xfer.Model("weights/mobilenet_v2_imagenet_tf2.gguf")
    X = m.extract(["a.jpg", "b.png"])          # (2, 1280) float32
    X = m.extract([np.asarray(pil_image)])     # (h, w, 3) uint8 arrays too

The library is found by $XFER_LIBRARY, then the source tree's build/libxfer.so.0, then the
libxfer.so.0 installed beside this package (make install: PREFIX/lib), then the system's.
"""
import ctypes as C
import os

import numpy as np

__all__ = ["Model", "Classifier", "XferError", "FeatureExtractor", "read_features"]

_STATUS = C.c_int
_MAX_LAYERS = 16
_POOLS = {"avg": 0, "max": 1, "none": 2}


class _Error(C.Structure):
    _fields_ = [("code", C.c_int), ("msg", C.c_char * 512)]


class _OpenOpts(C.Structure):
    _fields_ = [("verify_checksum", C.c_int)]


class _Preproc(C.Structure):
    _fields_ = [("size_h", C.c_int), ("size_w", C.c_int), ("crop_pct", C.c_float),
                ("mean", C.c_float * 3), ("std", C.c_float * 3), ("exif_rotate", C.c_int),
                ("max_pixels", C.c_int64), ("allow_truncated", C.c_int), ("augment", C.c_int),
                ("aug_seed", C.c_uint64), ("interp", C.c_int), ("full_decode", C.c_int)]


class _SessionOpts(C.Structure):
    _fields_ = [("max_batch", C.c_int), ("n_layers", C.c_int),
                ("layers", C.c_char_p * _MAX_LAYERS), ("pool", C.c_int), ("l2norm", C.c_int),
                ("threads", C.c_int)]


class XferError(Exception):
    """A failed call: the library's one-line message ("file: what: why"); .status is its
    name (XF_ERR_IO, XF_ERR_IMAGE, ...)."""

    def __init__(self, message, status):
        super().__init__(message)
        self.status = status


def _load():
    here = os.path.dirname(os.path.abspath(__file__))
    tries = [os.environ.get("XFER_LIBRARY"),
             os.path.join(here, "..", "..", "build", "libxfer.so.0"),
             os.path.join(here, "..", "..", "..", "libxfer.so.0"), "libxfer.so.0"]
    why = []
    for t in tries:
        if not t or (os.sep in t and not os.path.exists(t)):
            continue
        try:
            return C.CDLL(t)
        except OSError as e:
            why.append(str(e))
    raise ImportError("xfer: libxfer.so.0 not found (build it with make, or make install, or set "
                      "XFER_LIBRARY)" + (": " + "; ".join(why) if why else ""))


_lib = _load()


def _fn(name, restype, *argtypes):
    f = getattr(_lib, name)
    f.restype, f.argtypes = restype, list(argtypes)
    return f


_P = C.c_void_p
_status_name = _fn("xf_status_name", C.c_char_p, _STATUS)
_open_default = _fn("xf_open_default_opts", _OpenOpts)
_model_open = _fn("xf_model_open", _STATUS, C.c_char_p, C.POINTER(_OpenOpts), C.POINTER(_P),
                  C.POINTER(_Error))
_model_free = _fn("xf_model_free", None, _P)
_model_meta = _fn("xf_model_meta_str", C.c_char_p, _P, C.c_char_p)
_model_checksum = _fn("xf_model_checksum", C.c_uint32, _P)
_model_default_layer = _fn("xf_model_default_layer", C.c_char_p, _P)
_model_label_count = _fn("xf_model_label_count", C.c_int, _P)
_model_label = _fn("xf_model_label", C.c_char_p, _P, C.c_int)
_model_tensor_count = _fn("xf_model_tensor_count", C.c_int, _P)
_model_tensor_name = _fn("xf_model_tensor_name", C.c_char_p, _P, C.c_int)
_model_preproc = _fn("xf_model_preproc", _Preproc, _P)
_image_load = _fn("xf_image_load", _STATUS, C.c_char_p, C.POINTER(_Preproc), _P,
                  C.POINTER(_Error))
_image_load_mem = _fn("xf_image_load_mem", _STATUS, C.c_char_p, C.c_size_t, C.c_char_p,
                      C.POINTER(_Preproc), _P, C.POINTER(_Error))
_image_from_rgb = _fn("xf_image_from_rgb", _STATUS, _P, C.c_int, C.c_int, C.c_size_t,
                      C.POINTER(_Preproc), _P, C.POINTER(_Error))
_session_default = _fn("xf_session_default_opts", _SessionOpts)
_session_create = _fn("xf_session_create", _STATUS, _P, C.POINTER(_SessionOpts), C.POINTER(_P),
                      C.POINTER(_Error))
_session_free = _fn("xf_session_free", None, _P)
_session_dim = _fn("xf_session_feat_dim", C.c_int64, _P)
_session_run = _fn("xf_session_run", _STATUS, _P, _P, C.c_int, _P, C.c_size_t,
                   C.POINTER(_Error))
_features_read = _fn("xf_features_read", _STATUS, C.c_char_p, C.POINTER(_P), C.POINTER(_Error))
_features_free = _fn("xf_features_free", None, _P)
_features_count = _fn("xf_features_count", C.c_size_t, _P)
_features_dim = _fn("xf_features_dim", C.c_int64, _P)
_features_header = _fn("xf_features_header", C.c_char_p, _P)
_features_path = _fn("xf_features_path", C.c_char_p, _P, C.c_size_t)
_features_status = _fn("xf_features_status", _STATUS, _P, C.c_size_t)
_features_reason = _fn("xf_features_reason", C.c_char_p, _P, C.c_size_t)
_features_row = _fn("xf_features_row", C.POINTER(C.c_float), _P, C.c_size_t)
_features_class = _fn("xf_features_class", C.c_char_p, _P, C.c_size_t)
_clf_open = _fn("xf_classifier_open", _STATUS, C.c_char_p, C.POINTER(_OpenOpts), C.POINTER(_P),
                C.POINTER(_Error))
_clf_free = _fn("xf_classifier_free", None, _P)
_clf_kind = _fn("xf_classifier_kind", C.c_char_p, _P)
_clf_dim = _fn("xf_classifier_dim", C.c_int64, _P)
_clf_count = _fn("xf_classifier_class_count", C.c_int, _P)
_clf_class = _fn("xf_classifier_class", C.c_char_p, _P, C.c_int)
_clf_features = _fn("xf_classifier_features", C.c_char_p, _P)
_clf_check = _fn("xf_classifier_check", _STATUS, _P, C.c_char_p, C.c_int64, C.POINTER(_Error))
_clf_predict = _fn("xf_classifier_predict", _STATUS, _P, _P, C.c_size_t, C.c_int64, _P, _P,
                   C.POINTER(_Error))


def _check(status, err):
    if status != 0:
        raise XferError(err.msg.decode("utf-8", "surrogateescape"),
                        _status_name(status).decode())


class _Handle:
    """A library handle freed by _free (a module-level ctypes function, looked up at call
    time: it is None at interpreter exit) on close(), deletion or the end of a with-block."""
    _free_name = None

    def close(self):
        free = globals().get(self._free_name)
        if getattr(self, "_h", None) and free is not None:
            free(self._h)
        self._h = None

    __del__ = close

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Model(_Handle):
    """A weights file, opened read-only (memory-mapped) and checksum-verified unless
    verify=False. Shared by threads; close() or a with-block frees it."""

    def __init__(self, path, verify=True):
        opts = _open_default()
        opts.verify_checksum = 1 if verify else 0
        err, h = _Error(), _P()
        _check(_model_open(os.fsencode(path), C.byref(opts), C.byref(h), C.byref(err)), err)
        self._h, self.path = h, os.fspath(path)

    _free_name = "_model_free"

    @property
    def name(self):
        v = _model_meta(self._h, b"general.name")
        return v.decode() if v else None

    @property
    def checksum(self):
        """The weights' CRC32C, as the feature files and classifiers record it."""
        return "%08x" % _model_checksum(self._h)

    @property
    def default_layer(self):
        return _model_default_layer(self._h).decode()

    @property
    def layers(self):
        return [_model_tensor_name(self._h, i).decode()
                for i in range(_model_tensor_count(self._h))]

    @property
    def labels(self):
        return [_model_label(self._h, i).decode() for i in range(_model_label_count(self._h))]

    def _input(self, item, pp, out, err):
        if isinstance(item, np.ndarray):
            a = item
            if a.dtype != np.uint8:
                raise XferError("pixels: need uint8 (h, w, 3) or (h, w), got %s" % a.dtype,
                                "XF_ERR_ARG")
            if a.ndim == 2:
                a = np.repeat(a[:, :, None], 3, axis=2)
            if a.ndim != 3 or a.shape[2] != 3:
                raise XferError("pixels: need (h, w, 3) or (h, w), got shape %s" % (a.shape,),
                                "XF_ERR_ARG")
            a = np.ascontiguousarray(a)
            s = _image_from_rgb(a.ctypes.data, a.shape[1], a.shape[0], a.strides[0],
                                C.byref(pp), out, C.byref(err))
        elif isinstance(item, (bytes, bytearray, memoryview)):
            b = bytes(item)
            s = _image_load_mem(b, len(b), b"<bytes>", C.byref(pp), out, C.byref(err))
        else:
            s = _image_load(os.fsencode(item), C.byref(pp), out, C.byref(err))
        _check(s, err)

    def extract(self, items, layer=None, pool="avg", l2norm=False, batch=8):
        """Features of items — paths (str, bytes, os.PathLike), encoded image bytes, or
        uint8 arrays (h, w, 3) / (h, w) — as a float32 array (len(items), dim). layer: a
        name or a list of names (concatenated; default: the model's feature layer); pool:
        avg, max or none (flattened h*w*c). A bad image raises XferError naming it."""
        if isinstance(items, (str, bytes, os.PathLike, np.ndarray)) and not (
                isinstance(items, np.ndarray) and items.ndim == 4):
            items = [items]
        names = [] if layer is None else [layer] if isinstance(layer, str) else list(layer)
        if len(names) > _MAX_LAYERS or pool not in _POOLS:
            raise XferError("at most %d layers; pool is avg, max or none" % _MAX_LAYERS,
                            "XF_ERR_ARG")
        so = _session_default()
        so.max_batch, so.n_layers, so.pool, so.l2norm = batch, len(names), _POOLS[pool], int(l2norm)
        keep = [n.encode() for n in names]
        for i, n in enumerate(keep):
            so.layers[i] = n
        err, sess = _Error(), _P()
        _check(_session_create(self._h, C.byref(so), C.byref(sess), C.byref(err)), err)
        try:
            pp = _model_preproc(self._h)
            dim = _session_dim(sess)
            items = list(items)
            X = np.empty((len(items), dim), dtype=np.float32)
            x = np.empty((batch, pp.size_h, pp.size_w, 3), dtype=np.float32)
            for i0 in range(0, len(items), batch):
                part = items[i0:i0 + batch]
                for j, it in enumerate(part):
                    self._input(it, pp, x[j].ctypes.data, err)
                y = X[i0:i0 + len(part)]
                _check(_session_run(sess, x.ctypes.data, len(part), y.ctypes.data, y.size,
                                    C.byref(err)), err)
            return X
        finally:
            _session_free(sess)


def _name(b):
    return b.decode("utf-8", "surrogateescape") if b is not None else None


def _unescape(s):
    r"""A name as paths.txt, failed.tsv and classes.txt write it: \\ \t \r \n \xHH."""
    if "\\" not in s:
        return s
    out, i = bytearray(), 0
    b = s.encode("utf-8", "surrogateescape")
    while i < len(b):
        if b[i] == 0x5C and i + 1 < len(b):
            c = chr(b[i + 1])
            if c in "\\tnr":
                out += {"\\": b"\\", "t": b"\t", "n": b"\n", "r": b"\r"}[c]
                i += 2
                continue
            if c == "x" and i + 3 < len(b):
                out.append(int(b[i + 2:i + 4], 16))
                i += 4
                continue
        out.append(b[i])
        i += 1
    return out.decode("utf-8", "surrogateescape")


def _lines(path):
    with open(path, encoding="utf-8", errors="surrogateescape", newline="\n") as f:
        return [_unescape(l.rstrip("\n")) for l in f]


def read_features(path):
    """Any feature file xfer writes, as (X, paths, labels, info): X float32 (n, dim) of the
    successful inputs, paths their inputs (row for row), labels their classes or None,
    info a dict with "failed" ([(path, status, reason)]) and, for feats.bin, its provenance
    (weights, checksum, layers, pooling, preprocessing, roots).
    feats.bin (read by the library): labels by the ImageFolder rule of every tool. NAME.npy
    (+ NAME.paths.txt, NAME.failed.tsv): labels None. NAME.csv: labels None. NAME.svm (+
    .paths.txt, .classes.txt): labels the class names of its numbers."""
    p = os.fspath(path)
    if p.endswith(".npy"):
        stem = p[:-4]
        X = np.load(p)
        paths = _lines(stem + ".paths.txt")
        failed = []
        if os.path.exists(stem + ".failed.tsv"):
            for l in open(stem + ".failed.tsv", encoding="utf-8", errors="surrogateescape"):
                f = l.rstrip("\n").split("\t")
                failed.append((_unescape(f[0]), f[1] if len(f) > 1 else "",
                               _unescape(f[2]) if len(f) > 2 else ""))
        return X.astype(np.float32, copy=False), paths, None, {"failed": failed}
    if p.endswith(".csv"):
        import csv
        rows, paths, failed = [], [], []
        with open(p, newline="", encoding="utf-8", errors="surrogateescape") as f:
            r = csv.reader(f)
            next(r)
            for row in r:
                if row[1] == "XF_OK":
                    paths.append(row[0])
                    rows.append(np.asarray(row[2:], dtype=np.float32))
                else:
                    failed.append((row[0], row[1], ""))
        dim = len(rows[0]) if rows else 0
        return np.array(rows, dtype=np.float32).reshape(-1, dim), paths, None, {"failed": failed}
    if p.endswith(".svm") or p.endswith(".libsvm"):
        classes = {}
        for l in _lines(p + ".classes.txt"):
            i, _, name = l.partition("\t")
            classes[int(i)] = name
        ys, entries = [], []
        for l in open(p):
            f = l.split()
            ys.append(classes[int(f[0])])
            entries.append([(int(k) - 1, float(v)) for k, v in (t.split(":") for t in f[1:])])
        dim = 1 + max((k for e in entries for k, _ in e), default=-1)
        X = np.zeros((len(entries), dim), dtype=np.float32)
        for r, e in enumerate(entries):
            for k, v in e:
                X[r, k] = v
        return X, _lines(p + ".paths.txt"), ys, {"failed": []}
    err, h = _Error(), _P()
    _check(_features_read(os.fsencode(p), C.byref(h), C.byref(err)), err)
    try:
        import json
        n, dim = _features_count(h), _features_dim(h)
        info = json.loads(_name(_features_header(h)))
        ok = [i for i in range(n) if _features_status(h, i) == 0]
        X = np.empty((len(ok), dim), dtype=np.float32)
        for r, i in enumerate(ok):
            C.memmove(X[r].ctypes.data, _features_row(h, i), 4 * dim)
        paths = [_name(_features_path(h, i)) for i in ok]
        labels = [_name(_features_class(h, i)) for i in ok]
        bad = [i for i in range(n) if _features_status(h, i) != 0]
        info["failed"] = [(_name(_features_path(h, i)),
                           _status_name(_features_status(h, i)).decode(),
                           _name(_features_reason(h, i)) or "") for i in bad]
        return X, paths, labels, info
    finally:
        _features_free(h)


class Classifier(_Handle):
    """What classify -m takes — a head from train-classifier, a fine-tuned model or an
    ImageNet backbone — applied to feature rows: predict_proba(X) equals classify's
    probabilities. classes_ are the class names in column order; features the provenance
    of the features it was trained on (check(info) compares read_features' info with it)."""

    def __init__(self, path, verify=True):
        opts = _open_default()
        opts.verify_checksum = 1 if verify else 0
        err, h = _Error(), _P()
        _check(_clf_open(os.fsencode(path), C.byref(opts), C.byref(h), C.byref(err)), err)
        self._h, self.path = h, os.fspath(path)
        self.kind = _clf_kind(h).decode()
        self.n_features_in_ = _clf_dim(h)
        self.classes_ = np.array([_name(_clf_class(h, i)) for i in range(_clf_count(h))])
        f = _clf_features(h)
        import json
        self.features = json.loads(_name(f)) if f else None

    _free_name = "_clf_free"

    def check(self, info):
        """Raises XferError unless features with this provenance (read_features' info, or
        its JSON text) are what the classifier was trained on."""
        import json
        text = info if isinstance(info, str) else json.dumps(
            {k: v for k, v in info.items() if k != "failed"})
        err = _Error()
        _check(_clf_check(self._h, text.encode("utf-8", "surrogateescape"),
                          self.n_features_in_, C.byref(err)), err)

    def _run(self, X):
        X = np.ascontiguousarray(X, dtype=np.float32)
        if X.ndim == 1:
            X = X[None, :]
        if X.ndim != 2:
            raise XferError("X: need (n, dim), got shape %s" % (X.shape,), "XF_ERR_ARG")
        k = len(self.classes_)
        P = np.empty((X.shape[0], k), dtype=np.float32)
        D = np.empty((X.shape[0], k), dtype=np.float32)
        err = _Error()
        _check(_clf_predict(self._h, X.ctypes.data, X.shape[0], X.shape[1], P.ctypes.data,
                            D.ctypes.data, C.byref(err)), err)
        return P, D

    def predict_proba(self, X):
        return self._run(X)[0]

    def decision_function(self, X):
        return self._run(X)[1]

    def predict(self, X):
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


try:
    from sklearn.base import BaseEstimator, TransformerMixin
except ImportError:  # the same methods without scikit-learn
    BaseEstimator, TransformerMixin = object, object


class FeatureExtractor(BaseEstimator, TransformerMixin):
    """Images (paths, bytes or uint8 arrays) -> features, as a scikit-learn transformer:
    Pipeline([("features", FeatureExtractor(weights)), ("clf", LogisticRegression())]).
    fit learns nothing (the backbone is frozen)."""

    def __init__(self, weights, layer=None, pool="avg", l2norm=False, verify=True):
        self.weights, self.layer, self.pool, self.l2norm, self.verify = \
            weights, layer, pool, l2norm, verify

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        with Model(self.weights, verify=self.verify) as m:
            return m.extract(X, layer=self.layer, pool=self.pool, l2norm=self.l2norm)
