/**
 * What the client SDK costs a web page: the browser bundle of src/client/index.ts (every export,
 * with IndexedDBStorage), minified, raw and gzipped. Baseline from the same run: the minified
 * bundle of src/protocol/index.ts alone, the code the SDK cannot do without (validation, times,
 * hashes with the pure-JS SHA-256), so the ratio is the price of the client itself (mirror, outbox,
 * reconnects, events). Protocol plus src/core/ (the CRDT the mirror runs) is a second baseline.
 *
 *   npx tsx bench/client-size.ts
 */
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { type Figure, printFigures } from './report.js';

interface Size {
  readonly raw: number;
  readonly gzip: number;
  readonly inputs: readonly string[];
}

/** Bundles `contents` as an app's bundler would (ESM, browser, minified) and measures it. */
async function measure(contents: string): Promise<Size> {
  const result = await build({
    stdin: { contents, resolveDir: process.cwd(), sourcefile: 'entry.ts', loader: 'ts' },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    write: false,
    metafile: true,
    logLevel: 'warning',
  });
  const code = result.outputFiles[0]!.contents;
  const inputs = Object.keys(result.metafile.inputs);
  if (inputs.some((f) => f.includes('sha256-node') || f.startsWith('node_modules/ws/'))) {
    throw new Error(`a Node-only module leaked into the browser bundle: ${inputs.join(', ')}`);
  }
  return { raw: code.byteLength, gzip: gzipSync(code, { level: 9 }).byteLength, inputs };
}

// `export *` keeps every export, as a page importing the whole SDK would: no tree-shaking discount.
const client = await measure(
  "export * from './src/client/index.ts'; export * from './src/client/storage-indexeddb.ts';",
);
const protocol = await measure("export * from './src/protocol/index.ts';");
const core = await measure("export * from './src/protocol/index.ts'; export * from './src/core/index.ts';");

const figures: Figure[] = [
  {
    name: 'client bundle, minified',
    value: client.raw,
    unit: 'B',
    baseline: { name: 'protocol only', value: protocol.raw },
  },
  {
    name: 'client bundle, minified + gzip',
    value: client.gzip,
    unit: 'B',
    baseline: { name: 'protocol only', value: protocol.gzip },
  },
  {
    name: 'client bundle, minified + gzip',
    value: client.gzip,
    unit: 'B',
    baseline: { name: 'protocol + core (CRDT)', value: core.gzip },
  },
];
printFigures('Client SDK bundle size (esbuild, platform browser, ESM)', figures);
console.log(`\n${client.inputs.length} source files in the client bundle.`);
