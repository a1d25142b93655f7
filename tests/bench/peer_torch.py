# peer_torch.py — PyTorch (Debian python3-torch) forward throughput of torchvision's
# models (mobilenet_v2, inception_v3, resnet50, efficientnet_b0; random weights: speed does not
# depend on them), the peer of
# bench_forward in `make bench`; --export writes the same model as ONNX for the ORT peer.
# Usage: /usr/bin/python3 peer_torch.py MODEL BATCH THREADS SECONDS [--export FILE]
import sys, time, resource, torch, torchvision
name, batch, threads, secs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
torch.set_num_threads(threads)
torch.set_flush_denormal(True)  # random weights make denormals: measure the network, not them
size = 299 if name == "inception_v3" else 224
m = (torchvision.models.inception_v3(weights=None, aux_logits=False, init_weights=False)
     if name == "inception_v3" else getattr(torchvision.models, name)(weights=None)).eval()
x = torch.rand(batch, 3, size, size)
if "--export" in sys.argv:
    torch.onnx.export(m, x[:1], sys.argv[sys.argv.index("--export") + 1], opset_version=13,
                      input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "n"}, "logits": {0: "n"}})
    sys.exit(0)
with torch.inference_mode():
    m(x); n = 0; t0 = time.perf_counter()
    while time.perf_counter() - t0 < secs:
        m(x); n += batch
    dt = time.perf_counter() - t0
print(f"{n / dt:.1f} images/s  peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
