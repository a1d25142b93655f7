// golden.js — runs the original TF.js models (from @tensorflow/tfjs, pure JS CPU backend) on
// synthetic images defined by integer formulas and records outputs at several layers.
// It is: the independent reference for tests/unit/test_golden.c. It is not run by `make test`
// (the outputs are committed); `make golden` (tests/golden/make-golden.sh) regenerates them.
// Usage: node golden.js NPM_MODELS_DIR OUT.json
'use strict';
const tf = require('@tensorflow/tfjs');
const fs = require('fs');
const path = require('path');

// Same formulas as synthetic_image() in tests/unit/test_golden.c (values 0..255).
function syntheticImage(kind, h, w) {
  const px = new Float32Array(h * w * 3);
  let s = 2463534242 >>> 0;
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) {
    let v;
    if (kind === 0) v = (x + 2 * y + 40 * c) % 256;
    else if (kind === 1) v = ((Math.floor(x / 16) + Math.floor(y / 16)) % 2) ? 200 - 50 * c : 30 + 40 * c;
    else { s ^= (s << 13) >>> 0; s >>>= 0; s ^= s >>> 17; s ^= (s << 5) >>> 0; s >>>= 0; v = s & 255; }
    px[(y * w + x) * 3 + c] = v / 255;
  }
  return px;
}

async function load(dir) {
  const mj = JSON.parse(fs.readFileSync(path.join(dir, 'model.json')));
  const specs = [], bufs = [];
  for (const g of mj.weightsManifest) {
    specs.push(...g.weights);
    for (const p of g.paths) bufs.push(fs.readFileSync(path.join(dir, p)));
  }
  const all = Buffer.concat(bufs);
  const data = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
  return tf.loadLayersModel(tf.io.fromMemory({ modelTopology: mj.modelTopology, weightSpecs: specs, weightData: data }));
}

async function main() {
  const [dir, out] = process.argv.slice(2);
  const plan = { mobilenet_v2: ['dense_3', 'out_relu', 'block_10_project_BN', 'block_13_expand_relu'],
                 inception_v3: ['dense_3', 'mixed5', 'mixed10'] };
  const result = { generator: 'tests/golden/golden.js', tfjs: tf.version.tfjs, backend: 'cpu',
                   images: ['gradient', 'checkerboard', 'xorshift'], pool: 'avg', models: {} };
  for (const [name, layers] of Object.entries(plan)) {
    const m = await load(path.join(dir, name));
    const [, h, w] = m.inputs[0].shape;
    const sub = tf.model({ inputs: m.inputs, outputs: layers.map((l) => m.getLayer(l).output) });
    const res = {};
    for (let k = 0; k < 3; k++) {
      const x = tf.tensor4d(syntheticImage(k, h, w), [1, h, w, 3]);
      let outs = sub.predict(x);
      if (!Array.isArray(outs)) outs = [outs];
      layers.forEach((l, i) => {
        const t = outs[i].rank === 4 ? outs[i].mean([1, 2]) : outs[i];
        (res[l] = res[l] || []).push(Array.from(t.dataSync()).map((v) => +v.toPrecision(8)));
      });
    }
    result.models[name] = { height: h, width: w, layers: res };
    console.error(`${name}: ${layers.join(', ')}`);
  }
  fs.writeFileSync(out, JSON.stringify(result));
}
main().catch((e) => { console.error(e); process.exit(1); });
