"""compare_probs.py — classify's JSON lines (--top K --format json, every class) against
run_ort.js's output for the same images in the same order: prints the worst absolute
difference of any probability, one image at a time and in the batch (1.0 when the files do
not line up: other counts, other class names). Usage: compare_probs.py CLASSIFY.jsonl ORT.txt
"""
import json
import sys

cl = [c for c in map(json.loads, open(sys.argv[1])) if "top" in c]
ort = [json.loads(l) for l in open(sys.argv[2])]
names, batch, rows = ort[0]["classes"], ort[-1]["batch"], ort[1:-1]
k = len(names)
worst = 0.0 if cl and len(rows) == len(cl) and len(batch) == k * len(cl) else 1.0
for i, c in enumerate(cl[:len(rows)]):
    probs = {e["label"]: e["prob"] for e in c["top"]}
    if sorted(probs) != sorted(names):
        worst = 1.0
        continue
    for j, lab in enumerate(names):
        worst = max(worst, abs(rows[i][j] - probs[lab]), abs(batch[i * k + j] - probs[lab]))
print("%.1e" % worst)
