#!/usr/bin/python3
"""zoo.py — torchvision models exported to ONNX with PyTorch reference outputs (test oracle).

It is: for each model, random weights from a fixed seed, batch-norm statistics calibrated by a
few training-mode passes on random inputs (so activations stay O(1) instead of vanishing),
export with torch.onnx.export, and the reference logits and pooled features (the input of the
last Linear/Conv2d, averaged over space when it is a map) for one random input, written next
to the .onnx as NAME.input.bin (NCHW float32), NAME.logits.bin, NAME.feat.bin.
It is not: a runtime dependency (Debian python3-torch is only an oracle) or the comparison
(tests/onnx/zoo.sh does that with xfer-convert and tests/onnx/onnx_run).

usage: /usr/bin/python3 tests/onnx/zoo.py OUTDIR [--opset N] [MODEL ...]
(--opset exports every model at opset N instead of the table's default)
"""
import sys, os
import numpy as np
import torch
import torchvision

MODELS = {  # name: (input size, opset)
    "resnet18": (224, 13), "resnet50": (224, 13), "mobilenet_v2": (224, 13),
    "mobilenet_v3_large": (224, 13), "efficientnet_b0": (224, 13), "densenet121": (224, 13),
    "vgg16_bn": (224, 13), "squeezenet1_1": (224, 11), "shufflenet_v2_x1_0": (224, 13),
    "regnet_y_400mf": (224, 13), "convnext_tiny": (224, 17), "googlenet": (224, 13),
    "inception_v3": (299, 13),
}


def build(name):
    kw = {}
    if name in ("googlenet", "inception_v3"):
        kw = dict(aux_logits=False, init_weights=True)
    return getattr(torchvision.models, name)(weights=None, **kw)


def calibrate(model, size, passes=4):
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.reset_running_stats()
            m.momentum = None  # cumulative average over the calibration passes
    model.train()
    with torch.no_grad():
        for _ in range(passes):
            model(torch.randn(8, 3, size, size))
    model.eval()


def main():
    out, args, force = sys.argv[1], sys.argv[2:], None
    if args[:1] == ["--opset"]:
        force, args = int(args[1]), args[2:]
    names = args or list(MODELS)
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(2)
    for name in names:
        size, opset = MODELS[name]
        opset = force or opset
        torch.manual_seed(0)
        model = build(name)
        calibrate(model, size)
        last = [m for m in model.modules() if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d))][-1]
        feat = {}
        last.register_forward_hook(lambda m, i, o: feat.__setitem__("x", i[0].detach()))
        x = torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(1))
        with torch.no_grad():
            logits = model(x)
        f = feat["x"]
        if f.dim() == 4:
            f = f.mean(dim=(2, 3))
        path = os.path.join(out, name)
        torch.onnx.export(model, x, path + ".onnx", opset_version=opset, input_names=["input"],
                          output_names=["logits"], do_constant_folding=True)
        x.numpy().astype(np.float32).tofile(path + ".input.bin")
        logits.numpy().astype(np.float32).ravel().tofile(path + ".logits.bin")
        f.numpy().astype(np.float32).ravel().tofile(path + ".feat.bin")
        print(f"{name}: logits {tuple(logits.shape)} |logits| {logits.norm():.3g} "
              f"features {tuple(f.shape)} |f| {f.norm():.3g}", flush=True)


if __name__ == "__main__":
    main()
