// run_ort.js — runs an ONNX file that xfer-convert --to-onnx wrote, with ONNX Runtime (npm
// onnxruntime-node, CPU), on pixels from preprocess_dump (.npy, (N, H, W, 3) float32 in [0, 1]);
// prints the file's class names (its metadata entry "classes"), one JSON array of probabilities
// per image, and the whole batch run at once, for tests/cli/export.sh to compare with classify.
// Usage: node run_ort.js MODEL.onnx PIXELS.npy
'use strict';
const fs = require('fs');
const ort = require('onnxruntime-node');
function readNpy(path) {
  const b = fs.readFileSync(path);
  const hlen = b.readUInt16LE(8);
  const header = b.toString('latin1', 10, 10 + hlen);
  const shape = header.match(/'shape': \(([^)]*)\)/)[1].split(',').filter((s) => s.trim()).map(Number);
  const off = 10 + hlen;
  const data = new Float32Array(b.buffer.slice(b.byteOffset + off, b.byteOffset + b.length));
  return { shape, data };
}
// the value of the StringStringEntryProto {key: "classes", value: ...} in the file's bytes
function classes(b) {
  const i = b.indexOf(Buffer.from('\x0a\x07classes\x12', 'latin1'));
  if (i < 0) throw new Error('no "classes" metadata');
  let p = i + 10, len = 0, shift = 0, c;
  do { c = b[p++]; len |= (c & 0x7f) << shift; shift += 7; } while (c & 0x80);
  return JSON.parse(b.toString('utf8', p, p + len));
}
async function main() {
  const [file, npy] = process.argv.slice(2);
  console.log(JSON.stringify({ classes: classes(fs.readFileSync(file)) }));
  const s = await ort.InferenceSession.create(file, { intraOpNumThreads: 1, graphOptimizationLevel: 'all' });
  const { shape, data } = readNpy(npy);
  const per = shape[1] * shape[2] * shape[3];
  for (let i = 0; i < shape[0]; i++) { // one image at a time, and the batch of all below
    const x = new ort.Tensor('float32', data.slice(i * per, (i + 1) * per), [1, shape[1], shape[2], shape[3]]);
    const r = await s.run({ pixels: x });
    console.log(JSON.stringify(Array.from(r.probabilities.data)));
  }
  const all = await s.run({ pixels: new ort.Tensor('float32', data, shape) });
  console.log(JSON.stringify({ batch: Array.from(all.probabilities.data) }));
}
main().catch((e) => { console.error(String(e)); process.exit(1); });
