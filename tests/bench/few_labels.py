#!/usr/bin/env python3
# few_labels.py — the README's "Few labels, many photos" protocol: keep a fraction of a class-
# folder training set's labels (drawn per class in proportion, at least 3, one draw per seed; the
# other training photos are the unlabelled pool), train with each method, and print one
# markdown row per method: test accuracy per seed, the mean, whole-run seconds per seed.
# It is: a driver of the built tools (standard library only). It is not: a test (no pass/fail).
# Usage: few_labels.py DATA_DIR (with train/ and test/) --fraction 0.05 [--seeds 1,2,3]
#        [--methods probe,selftrain,ft_head,ft_last,simclr] [--build build] [--work DIR]
#        [--pretrain-epochs 10] [-- extra flags for every finetune run]
import argparse, os, random, re, subprocess, sys, time

LAST = "MobileNetV2/expanded_conv_17/expand/relu6/Relu6"
ap = argparse.ArgumentParser()
ap.add_argument("data")
ap.add_argument("--fraction", type=float, default=0)
ap.add_argument("--per-class", type=int, default=0, help="instead: this many labels per class")
ap.add_argument("--seeds", default="1,2,3")
ap.add_argument("--methods", default="probe,selftrain,ft_head,ft_last,simclr")
ap.add_argument("--build", default="build")
ap.add_argument("--work", default="/tmp/few_labels")
ap.add_argument("--pretrain-epochs", default="10")
ap.add_argument("--unfreeze-from", default=LAST)
ap.add_argument("extra", nargs="*")
a = ap.parse_args()
if (a.fraction > 0) == (a.per_class > 0):
    sys.exit("few_labels: give one of --fraction F (0 < F < 1) and --per-class N")
B, W = a.build, a.work
os.makedirs(W, exist_ok=True)
train, test = os.path.join(a.data, "train"), os.path.join(a.data, "test")
classes = sorted(d for d in os.listdir(train) if os.path.isdir(os.path.join(train, d)))
files = {c: sorted(os.listdir(os.path.join(train, c))) for c in classes}
total = sum(len(v) for v in files.values())
DATA = os.path.basename(os.path.abspath(a.data))
KEEP = f"pc{a.per_class}" if a.per_class else f"f{a.fraction:g}"


def run(cmd):
    t0 = time.time()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode:
        sys.exit(f"few_labels: {' '.join(cmd)} failed:\n{p.stderr[-2000:]}")
    return p, time.time() - t0


def accuracy(model, inputs):
    p, _ = run([f"{B}/classify", "-m", model, inputs])
    m = re.search(r"^accuracy ([0-9.]+)", p.stderr, re.M)
    return float(m.group(1))


def draw(seed):
    """lab/CLASS/ links for the kept labels, unl/ links for the rest, labels.csv of the kept"""
    d = os.path.join(W, f"{DATA}_{KEEP}_s{seed}")  # one draw per dataset, rule and seed
    if os.path.isdir(d):
        return d
    rng = random.Random(seed)
    os.makedirs(os.path.join(d, "unl"))
    with open(os.path.join(d, "labels.csv"), "w") as csv:
        csv.write("path,label\n")
        for c in classes:
            fs = files[c][:]
            rng.shuffle(fs)
            k = a.per_class or max(3, round(a.fraction * len(fs)))
            os.makedirs(os.path.join(d, "lab", c))
            for i, f in enumerate(fs):
                src = os.path.abspath(os.path.join(train, c, f))
                if i < k:
                    os.symlink(src, os.path.join(d, "lab", c, f))
                    csv.write(f"{c}/{f},{c}\n")
                else:
                    os.symlink(src, os.path.join(d, "unl", f"{c}_{f}"))
    return d


feats = {}


def features():
    if not feats:
        for name, src in (("train", train), ("test", test)):
            out = os.path.join(W, f"{DATA}_{name}.bin")
            if not os.path.exists(out):
                run([f"{B}/extract-features", "--quiet", src, "-o", out])
            feats[name] = out
    return feats


FT = ["--hidden", "256", "--dropout", "0.2", "--quiet"]


def method(name, seed, d):
    out = os.path.join(d, f"{name}.gguf")
    lab, unl = os.path.join(d, "lab"), os.path.join(d, "unl")
    ft = [f"{B}/finetune", lab, "-o", out, "--seed", str(seed)] + FT + a.extra
    last = ["--unfreeze-from", a.unfreeze_from, "--lr", "3e-4", "--epochs", "12"]
    if name in ("probe", "selftrain"):
        f = features()
        cmd = [f"{B}/train-classifier", f["train"], "--labels", os.path.join(d, "labels.csv"),
               "-o", out, "--quiet"]
        if a.fraction and a.fraction < 0.03:
            cmd += ["--folds", "3"]
        if name == "selftrain":
            cmd += ["--unlabeled", f["train"]]
        _, secs = run(cmd)
        return accuracy(out, f["test"]), secs
    cmd = {"ft_head": ft + ["--epochs", "60"],
           "ft_last": ft + last,
           "simclr": ft + last + ["--unlabeled", unl, "--unlabeled-weight", "0",
                                  "--pretrain-epochs", a.pretrain_epochs],
           "fixmatch_last": ft + last + ["--unlabeled", unl, "--align"]}[name]
    _, secs = run(cmd)
    return accuracy(out, test), secs


seeds = [int(s) for s in a.seeds.split(",")]
dirs = {s: draw(s) for s in seeds}
print(f"# {a.data}: {len(classes)} classes, {total} training photos, "
      f"{'%d per class' % a.per_class if a.per_class else '%g%% of the labels' % (100 * a.fraction)}, "
      f"seeds {a.seeds}; extra finetune flags: {' '.join(a.extra) or 'none'}")
print("| method | accuracy per seed | mean | seconds per run |")
print("|---|---|---|---|")
for name in a.methods.split(","):
    accs, secs = [], []
    for s in seeds:
        acc, t = method(name, s, dirs[s])
        accs.append(acc), secs.append(t)
        print(f"few_labels: {name} seed {s}: {acc:.3f} in {t:.0f} s", file=sys.stderr, flush=True)
    print(f"| {name} | {', '.join('%.3f' % x for x in accs)} | {sum(accs) / len(accs):.3f} | "
          f"{', '.join('%.0f' % t for t in secs)} |", flush=True)
