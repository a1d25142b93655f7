#!/usr/bin/python3
"""tiny.py — small ONNX models covering every supported operator, with PyTorch reference outputs.

It is: the generator of tests/onnx/models/ (committed: make test runs them without PyTorch).
Each model has random weights (fixed seed), calibrated batch-norm statistics, one random input
and its reference logits + pooled features (input of the last Linear/Conv2d). Regenerate with
`make onnx-models` on a machine with Debian's python3-torch.
It is not: the torchvision zoo check (tests/onnx/zoo.py, make test-zoo).
"""
import os, sys
import numpy as np
import torch
from torch import nn
import torch.nn.functional as F


class Stem(nn.Module):  # conv + BN + ReLU, ceil-mode max pool, Pad + conv, residual, Flatten, Gemm
    def __init__(s):
        super().__init__()
        s.c1, s.b1 = nn.Conv2d(3, 8, 3, 2, 1, bias=False), nn.BatchNorm2d(8)
        s.c2, s.b2 = nn.Conv2d(8, 8, 3, 1, 1), nn.BatchNorm2d(8)
        s.c3 = nn.Conv2d(8, 8, (1, 3), 1, 0)
        s.fc = nn.Linear(8, 5)

    def forward(s, x):
        x = F.relu(s.b1(s.c1(x)))
        x = F.max_pool2d(x, 3, 2, ceil_mode=True)
        y = F.relu(s.b2(s.c2(x)))
        x = F.relu(s.c3(F.pad(y, (1, 1, 0, 0))) + x)  # an explicit Pad node
        x = F.adaptive_avg_pool2d(x, 1)
        return s.fc(torch.flatten(x, 1))


class Mobile(nn.Module):  # depthwise, hardswish, SE with hardsigmoid, SiLU, PReLU, LeakyReLU,
    def __init__(s):      # ReLU6 (Clip), average pools counting padding both ways
        super().__init__()
        s.c1 = nn.Conv2d(3, 12, 3, 2, 1)
        s.bn = nn.BatchNorm2d(12)
        s.dw = nn.Conv2d(12, 12, 3, 1, 1, groups=12)
        s.dw2 = nn.Conv2d(12, 24, 5, 2, 2, groups=12)
        s.se1, s.se2 = nn.Conv2d(24, 6, 1), nn.Conv2d(6, 24, 1)
        s.pr = nn.PReLU(24)
        s.pw = nn.Conv2d(24, 16, 1)
        s.fc = nn.Linear(16, 4)

    def forward(s, x):
        x = F.hardswish(s.c1(x))
        x = F.relu6(s.bn(s.dw(x)))
        x = F.silu(s.dw2(x))
        g = F.hardsigmoid(s.se2(F.relu(s.se1(F.adaptive_avg_pool2d(x, 1)))))
        x = s.pr(x * g)
        x = F.avg_pool2d(x, 3, 1, 1, count_include_pad=False)
        x = F.leaky_relu(s.pw(x), 0.01)
        x = F.avg_pool2d(x, 3, 1, 1, count_include_pad=True)
        x = x * torch.sigmoid(x)
        return F.softmax(s.fc(x.mean((2, 3))), dim=1)


class Shuffle(nn.Module):  # chunk/split, channel shuffle, grouped + dilated conv, concat, Gemm on
    def __init__(s):       # a flattened map (CHW order), sigmoid gate of the same shape
        super().__init__()
        s.c1 = nn.Conv2d(3, 16, 3, 2, 1)
        s.g = nn.Conv2d(8, 8, 3, 1, 1, groups=4)
        s.d = nn.Conv2d(16, 8, 3, 1, 2, dilation=2)
        s.fc = nn.Linear(8 * 4 * 4, 6)

    def forward(s, x):
        x = F.relu(s.c1(x))
        a, b = x.chunk(2, dim=1)
        x = torch.cat((a, F.relu(s.g(b))), 1)
        n, c, h, w = x.shape
        x = x.view(n, 2, c // 2, h, w).transpose(1, 2).contiguous().view(n, c, h, w)
        x = s.d(x)
        x = x * torch.sigmoid(x + 1)
        x = F.adaptive_avg_pool2d(x, 4)
        s.map = x  # xfer flattens maps in HWC order: the reference features follow it
        return s.fc(x.reshape(x.size(0), -1))


class Next(nn.Module):  # ConvNeXt block: permute, LayerNorm, Linear (MatMul), GELU, layer scale
    def __init__(s):
        super().__init__()
        s.stem = nn.Conv2d(3, 16, 4, 4)
        s.dw = nn.Conv2d(16, 16, 7, 1, 3, groups=16)
        s.ln = nn.LayerNorm(16, eps=1e-6)
        s.l1, s.l2 = nn.Linear(16, 64), nn.Linear(64, 16)
        s.gamma = nn.Parameter(torch.rand(16, 1, 1) + 0.5)
        s.head_ln = nn.LayerNorm(16, eps=1e-6)
        s.fc = nn.Linear(16, 3)

    def forward(s, x):
        x = s.stem(x)
        y = s.dw(x).permute(0, 2, 3, 1)
        y = s.l2(F.gelu(s.l1(s.ln(y)))).permute(0, 3, 1, 2)
        x = x + s.gamma * y
        x = F.adaptive_avg_pool2d(x, 1)
        x = s.head_ln(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        return s.fc(torch.flatten(x, 1))


MODELS = {"stem": (Stem, 11, 32), "mobile": (Mobile, 13, 32), "shuffle": (Shuffle, 13, 32),
          "next": (Next, 17, 32), "stem_bn": (Stem, 13, 32)}  # stem_bn: BatchNormalization kept


def build(name):
    """the model with its seeded weights and calibrated batch norm, in eval mode"""
    cls, opset, size = MODELS[name]
    torch.manual_seed(0)
    m = cls()
    for mod in m.modules():
        if isinstance(mod, nn.BatchNorm2d):
            mod.momentum = None
    m.train()
    with torch.no_grad():
        for _ in range(3):
            m(torch.randn(4, 3, size, size))
    return m.eval()


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name, (cls, opset, size) in MODELS.items():
        m = build(name)
        last = [q for q in m.modules() if isinstance(q, (nn.Linear, nn.Conv2d))][-1]
        feat = {}
        last.register_forward_hook(lambda q, i, o: feat.__setitem__("x", i[0].detach()))
        x = torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(1))
        with torch.no_grad():
            y = m(x)
        f = feat["x"]
        f = f.mean((2, 3)) if f.dim() == 4 else f
        if hasattr(m, "map"):
            f = m.map.permute(0, 2, 3, 1).reshape(1, -1)
        p = os.path.join(out, name)
        mode = torch.onnx.TrainingMode.PRESERVE if name == "stem_bn" else torch.onnx.TrainingMode.EVAL
        torch.onnx.export(m, x, p + ".onnx", opset_version=opset, input_names=["input"],
                          output_names=["output"], do_constant_folding=True, training=mode)
        x.numpy().astype(np.float32).tofile(p + ".input.bin")
        y.numpy().astype(np.float32).ravel().tofile(p + ".logits.bin")
        f.numpy().astype(np.float32).ravel().tofile(p + ".feat.bin")
        print(name, tuple(y.shape), tuple(f.shape))


if __name__ == "__main__":
    main()
