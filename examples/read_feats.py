# read_feats.py — reads an xfer feats.bin (weights/FORMAT.md §2) into numpy arrays.
import json, struct, sys, numpy as np
def read_feats(path):
    f = open(path, "rb"); assert f.read(8) == b"XFEATS\r\n", "not a feats.bin"
    version, dim, jl = struct.unpack("<III", f.read(12)); header = json.loads(f.read(jl))
    paths, rows, failed = [], [], []
    while (b := f.read(4)):
        p = f.read(struct.unpack("<I", b)[0]).decode(); (status,) = struct.unpack("<i", f.read(4))
        if status == 0: paths.append(p); rows.append(np.frombuffer(f.read(4 * dim), "<f4"))
        else: failed.append((p, status, f.read(struct.unpack("<I", f.read(4))[0]).decode()))
    return header, paths, np.array(rows, dtype=np.float32).reshape(-1, dim), failed
if __name__ == "__main__":
    h, paths, X, failed = read_feats(sys.argv[1]); print(h["weights"], X.shape, len(failed), "failed")
