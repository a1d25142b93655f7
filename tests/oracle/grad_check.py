# grad_check.py — the gradients of xfer's backward passes against PyTorch autograd (Debian
# python3-torch) on the tiny test model (conv 3x3 same + ReLU, depthwise 3x3 stride 2 + ReLU6,
# conv 1x1, global average pooling, dense): same weights, same batch, mean softmax
# cross-entropy. Relative L2 difference of every weight and bias gradient below 1e-4.
# Usage: /usr/bin/python3 grad_check.py DUMP_DIR
import sys, numpy as np, torch
import torch.nn.functional as F
d = sys.argv[1]
def load(name, shape): return torch.tensor(np.fromfile(f"{d}/{name}.f32", "<f4").reshape(shape), dtype=torch.float64)
x = load("input", (3, 8, 8, 3)).permute(0, 3, 1, 2)                 # NHWC -> NCHW
P = {}
P["c1"] = (load("c1.weight", (3, 3, 3, 4)).permute(3, 2, 0, 1), load("c1.bias", (4,)))      # (kh,kw,cin,cout) -> (cout,cin,kh,kw)
P["d1"] = (load("d1.weight", (3, 3, 4, 1)).permute(2, 3, 0, 1), load("d1.bias", (4,)))      # (kh,kw,c,1) -> (c,1,kh,kw)
P["c2"] = (load("c2.weight", (1, 1, 4, 6)).permute(3, 2, 0, 1), load("c2.bias", (6,)))
P["fc"] = (load("fc.weight", (6, 3)).t(), load("fc.bias", (3,)))
for w, b in P.values(): w.requires_grad_(True); b.requires_grad_(True)
h = F.relu(F.conv2d(x, *P["c1"], padding=1))
h = F.pad(h, (0, 1, 0, 1))                                           # pad bottom/right, like the file
h = torch.clamp(F.conv2d(h, *P["d1"], stride=2, groups=4), 0, 6)
h = F.conv2d(h, *P["c2"]).mean((2, 3))
logits = F.linear(h, *P["fc"])
loss = F.cross_entropy(logits, torch.tensor([0, 1, 2]))
loss.backward()
ours = float(np.fromfile(f"{d}/loss.f32", "<f4")[0])
worst = abs(ours - loss.item()) / abs(loss.item())
perm = {"c1": (2, 3, 1, 0), "d1": (2, 3, 0, 1), "c2": (2, 3, 1, 0)}
for n, (w, b) in P.items():
    gw = w.grad.permute(*perm[n]) if n in perm else w.grad.t()
    xw = torch.tensor(np.fromfile(f"{d}/{n}.dweight.f32", "<f4").reshape(gw.shape), dtype=torch.float64)
    xb = torch.tensor(np.fromfile(f"{d}/{n}.dbias.f32", "<f4"), dtype=torch.float64)
    for a, r in ((xw, gw), (xb, b.grad)):
        worst = max(worst, float((a - r).norm() / (r.norm() + 1e-30)))
print(f"xfer vs PyTorch autograd on the tiny net: loss and all weight/bias gradients within {worst:.2e} (limit 1e-4)")
sys.exit(0 if worst < 1e-4 else 1)
