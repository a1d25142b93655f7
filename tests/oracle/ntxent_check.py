# ntxent_check.py — xfer's NT-Xent (loss.c: L2 normalisation, cosine similarities over
# temperature, cross-entropy of each view's partner among the other 2n - 1 rows) against
# PyTorch autograd (Debian python3-torch) in float64: F.normalize, a masked similarity matrix,
# F.cross_entropy. Loss and d loss / d z within 1e-5 relative L2 on every case ntxent_dump wrote.
# Usage: /usr/bin/python3 ntxent_check.py DUMP_DIR
import glob, os, sys, numpy as np, torch
import torch.nn.functional as F
d = sys.argv[1]
worst, cases = 0.0, sorted(glob.glob(f"{d}/*.shape.f32"))
for path in cases:
    c = os.path.basename(path).split(".")[0]
    n, dim, tau = np.fromfile(path, "<f4")
    n, dim, tau = int(n), int(dim), float(tau)
    z = torch.tensor(np.fromfile(f"{d}/{c}.z.f32", "<f4").reshape(2 * n, dim), dtype=torch.float64,
                     requires_grad=True)
    u = F.normalize(z, dim=1, eps=1e-12)
    s = (u @ u.t() / tau).masked_fill(torch.eye(2 * n, dtype=torch.bool), float("-inf"))
    target = torch.cat([torch.arange(n) + n, torch.arange(n)])
    loss = F.cross_entropy(s, target)
    loss.backward()
    ours = float(np.fromfile(f"{d}/{c}.loss.f32", "<f4")[0])
    dz = torch.tensor(np.fromfile(f"{d}/{c}.dz.f32", "<f4").reshape(2 * n, dim), dtype=torch.float64)
    worst = max(worst, abs(ours - loss.item()) / abs(loss.item()),
                float((dz - z.grad).norm() / (z.grad.norm() + 1e-30)))
print(f"xfer's NT-Xent vs PyTorch autograd: loss and d loss / d z within {worst:.2e} on "
      f"{len(cases)} batches (limit 1e-5)")
sys.exit(0 if cases and worst < 1e-5 else 1)
