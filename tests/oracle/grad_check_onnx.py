# grad_check_onnx.py — xfer's backward through an imported ONNX graph against PyTorch autograd:
# the gradient of the mean softmax cross-entropy with respect to the input images. The input
# gradient does not depend on how parameters were folded or laid out (batch norm folded into
# convs, NHWC weights), so the converted file and the PyTorch module it came from can be compared
# directly. Models: the small ones of tests/onnx/tiny.py (squeeze-excitation gate, HardSwish,
# SiLU, PReLU, leaky ReLU, ReLU6, average pools both ways, layer norm, GELU, channel shuffle,
# grouped and dilated conv, split, flatten + Gemm). Relative L2 below 1e-4 (float32).
# Usage: /usr/bin/python3 grad_check_onnx.py MODEL DUMP_DIR   (after grad_dump on MODEL's gguf)
import os, sys, numpy as np, torch
import torch.nn.functional as F
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "onnx"))
import tiny

name, d = sys.argv[1], sys.argv[2]
m = tiny.build(name).double()
size = tiny.MODELS[name][2]
x = torch.tensor(np.fromfile(f"{d}/input.f32", "<f4").reshape(3, size, size, 3), dtype=torch.float64)
x = x.permute(0, 3, 1, 2).contiguous().requires_grad_(True)             # NHWC -> NCHW
last = [q for q in m.modules() if isinstance(q, (torch.nn.Linear, torch.nn.Conv2d))][-1]
out = {}
last.register_forward_hook(lambda q, i, o: out.__setitem__("logits", o))
m(x)
logits = out["logits"]
k = logits.shape[1]
loss = F.cross_entropy(logits, torch.tensor([0, 1 % k, 2 % k]))
loss.backward()
ours = torch.tensor(np.fromfile(f"{d}/dinput.f32", "<f4").reshape(3, size, size, 3), dtype=torch.float64)
ours = ours.permute(0, 3, 1, 2)
ref = x.grad
e = float((ours - ref).norm() / (ref.norm() + 1e-30))
el = abs(float(np.fromfile(f"{d}/loss.f32", "<f4")[0]) - loss.item()) / abs(loss.item())
print(f"{name}: xfer vs PyTorch autograd, d loss / d input within {e:.2e}, loss within {el:.1e} (limit 1e-4)")
sys.exit(0 if e < 1e-4 and el < 1e-4 else 1)
