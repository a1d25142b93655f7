# peer_torch_e2e.py — the end-to-end peer of extract-features: PIL decode + torchvision
# Resize(256)/CenterCrop(224)/ToTensor + mobilenet_v2 features (pooled), over a folder of JPEGs,
# DataLoader with W workers. Prints images/s. Usage: peer_torch_e2e.py DIR WORKERS THREADS [--draft]
# (--draft: PIL's draft mode, the JPEG decoded at the smallest 1/2^k scale that keeps 256 pixels)
import sys, time, glob, torch, torchvision
from PIL import Image
import torchvision.transforms as T
d, workers, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
draft = "--draft" in sys.argv[4:]
torch.set_num_threads(threads)
torch.set_flush_denormal(True)  # random weights make denormals: measure the network, not them
files = sorted(glob.glob(d + "/**/*.jp*g", recursive=True))
tf = T.Compose([T.Resize(256), T.CenterCrop(224), T.ToTensor()])
class DS(torch.utils.data.Dataset):
    def __len__(self): return len(files)
    def __getitem__(self, i):
        im = Image.open(files[i])
        if draft:
            im.draft("RGB", (256, 256))
        return tf(im.convert("RGB"))
dl = torch.utils.data.DataLoader(DS(), batch_size=16, num_workers=workers)
m = torchvision.models.mobilenet_v2(weights=None).features.eval()
t0 = time.perf_counter(); n = 0
with torch.inference_mode():
    for x in dl:
        m(x).mean((2, 3)); n += x.shape[0]
print(f"{n / (time.perf_counter() - t0):.1f} images/s")
