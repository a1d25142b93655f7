# peer_torch_ft.py — PyTorch peer of `finetune --unfreeze-from <last block> --hidden 256`: the
# same trainable part of torchvision's mobilenet_v2 (features[17:], i.e. the last inverted
# residual block and the final 1x1 conv, plus GAP -> Linear 256 -> ReLU -> Dropout -> Linear),
# trained on N cached 7x7x160 boundary activations, batch 32, AdamW. Prints seconds per epoch.
# Usage: peer_torch_ft.py N THREADS EPOCHS
import sys, time, torch, torchvision
n, threads, epochs = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
torch.set_num_threads(threads); torch.set_flush_denormal(True); torch.manual_seed(0)
m = torchvision.models.mobilenet_v2(weights=None)
top = torch.nn.Sequential(*m.features[17:]).eval()   # BN in inference mode, like xfer (folded)
head = torch.nn.Sequential(torch.nn.Linear(1280, 256), torch.nn.ReLU(), torch.nn.Dropout(0.2), torch.nn.Linear(256, 2))
x = torch.randn(n, 160, 7, 7); y = torch.randint(0, 2, (n,))
params = list(top.parameters()) + list(head.parameters())
opt = torch.optim.AdamW(params, lr=3e-4, weight_decay=1e-4)
times = []
for ep in range(epochs):
    t0 = time.perf_counter(); perm = torch.randperm(n)
    for i in range(0, n, 32):
        idx = perm[i:i + 32]
        loss = torch.nn.functional.cross_entropy(head(top(x[idx]).mean((2, 3))), y[idx])
        opt.zero_grad(); loss.backward(); opt.step()
    times.append(time.perf_counter() - t0)
print(f"{min(times):.2f} s/epoch")
