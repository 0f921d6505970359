// Bundle every entry point app/static/src/*.js (and the CSS it imports) into app/static/vendor/.
// Run by `make setup` after `npm ci`; the bundles are not committed (no CDN, no internet at run time:
// the libraries come from node_modules, installed from package-lock.json).
import { readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'app', 'static', 'src');
const out = join(root, 'app', 'static', 'vendor');
const entries = readdirSync(src).filter((name) => name.endsWith('.js')).map((name) => join(src, name));
if (entries.length === 0) {
  console.error(`no entry points in ${src}`);
  process.exit(1);
}
rmSync(out, { recursive: true, force: true });
await esbuild.build({
  entryPoints: entries,
  outdir: out,
  bundle: true,
  format: 'iife',
  // Safari 14.1: esbuild cannot lower the destructuring bpmn.io's code uses for older Safari (its bug with
  // destructuring defaults), and iOS 14.5+ is what the phones run anyway
  target: ['es2017', 'chrome80', 'safari14.1'],
  minify: true,
  sourcemap: true,
  legalComments: 'linked', // the libraries' licence headers, beside each bundle
  // images and fonts a library's CSS points at are copied next to the bundle
  loader: { '.png': 'file', '.svg': 'file', '.gif': 'file', '.woff': 'file', '.woff2': 'file', '.ttf': 'file', '.eot': 'file' },
  assetNames: 'assets/[name]-[hash]',
  logLevel: 'warning',
});
console.log(`bundled ${entries.length} entry point(s) into ${out}`);
