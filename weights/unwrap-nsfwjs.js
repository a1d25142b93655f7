// unwrap-nsfwjs.js — turns the nsfwjs npm package's UMD/base64 model files into standard
// TF.js layers models (model.json + binary shards). It is: a format unwrapper only; it does
// not interpret or change any weight. Usage: node unwrap-nsfwjs.js PACKAGE_DIR OUT_DIR
'use strict';
const fs = require('fs');
const path = require('path');
const [pkg, out] = process.argv.slice(2);
// model.json is a make target: never leave it half-written under its name
function writeAtomic(file, data) {
  fs.writeFileSync(file + '.tmp', data);
  fs.renameSync(file + '.tmp', file);
}
if (!pkg || !out) { console.error('usage: node unwrap-nsfwjs.js PACKAGE_DIR OUT_DIR'); process.exit(2); }
for (const name of ['mobilenet_v2', 'inception_v3']) {
  const src = path.join(pkg, 'dist', 'models', name);
  const model = require(path.resolve(src, 'model.min.js'));
  if (!model.modelTopology || !Array.isArray(model.weightsManifest)) throw new Error(`${src}: not a layers model`);
  const dst = path.join(out, name);
  fs.mkdirSync(dst, { recursive: true });
  for (const group of model.weightsManifest) {
    group.paths = group.paths.map((p) => {
      const b64 = require(path.resolve(src, p + '.min.js'));
      if (typeof b64 !== 'string') throw new Error(`${p}: shard is not a base64 string`);
      writeAtomic(path.join(dst, p + '.bin'), Buffer.from(b64, 'base64'));
      return p + '.bin';
    });
  }
  const json = { format: 'layers-model', generatedBy: 'nsfwjs@4.4.0 (unwrapped)', modelTopology: model.modelTopology, weightsManifest: model.weightsManifest };
  writeAtomic(path.join(dst, 'model.json'), JSON.stringify(json)); // last: the make target
  console.error(`unwrapped ${name} -> ${dst}/model.json`);
}
