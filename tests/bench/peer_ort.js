// peer_ort.js — ONNX Runtime (npm onnxruntime-node, CPU) forward throughput on an ONNX file
// exported by peer_torch.py: the ORT peer of bench_forward in `make bench`.
// Usage: node peer_ort.js MODEL.onnx SIZE BATCH THREADS SECONDS
'use strict';
const ort = require('onnxruntime-node');
async function main() {
  const [file, size, batch, threads, secs] = process.argv.slice(2).map((v, i) => (i ? +v : v));
  const s = await ort.InferenceSession.create(file, { intraOpNumThreads: threads, interOpNumThreads: 1,
    graphOptimizationLevel: 'all', executionMode: 'sequential' });
  const x = new ort.Tensor('float32', Float32Array.from({ length: batch * 3 * size * size }, () => Math.random()), [batch, 3, size, size]);
  await s.run({ input: x });
  let n = 0; const t0 = process.hrtime.bigint();
  while (Number(process.hrtime.bigint() - t0) / 1e9 < secs) { await s.run({ input: x }); n += batch; }
  const dt = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(`${(n / dt).toFixed(1)} images/s  peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
}
main().catch((e) => { console.error(String(e)); process.exit(1); });
