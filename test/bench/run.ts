/**
 * `npm run bench [name…]`: runs the benchmarks (all by default), prints one table and
 * writes JSON under .bench/. Each bench measures a reference in the same run and
 * reports the ratio; nothing here is a pass/fail test.
 */
import { apiBench } from './api.bench.js';
import { captureCostBench } from './capture-cost.bench.js';
import { claimsBench } from './claims.bench.js';
import { clusterBench } from './cluster.bench.js';
import { consoleBench } from './console.bench.js';
import { listenBench } from './listen.bench.js';
import { metersBench } from './meters.bench.js';
import { type BenchRow, printTable, writeJson } from './report.js';
import { s3CopyBench } from './s3-copy.bench.js';
import { scheduleStartBench } from './schedule-start.bench.js';
import { schedulesBench } from './schedules.bench.js';
import { trackerBench } from './tracker.bench.js';
import { uploadBench } from './upload.bench.js';
import { verifyBench } from './verify.bench.js';

const BENCHES: Record<string, () => Promise<BenchRow[]>> = {
  api: apiBench,
  'capture-cost': captureCostBench,
  claims: claimsBench,
  cluster: clusterBench,
  console: consoleBench,
  listen: listenBench,
  meters: metersBench,
  schedules: schedulesBench,
  's3-copy': s3CopyBench,
  'schedule-start': scheduleStartBench,
  tracker: trackerBench,
  upload: uploadBench,
  verify: verifyBench,
};

const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
if (process.argv.includes('--help')) {
  console.log(`usage: npm run bench [-- ${Object.keys(BENCHES).join(' | ')} ...]`);
  process.exit(0);
}
const unknown = wanted.filter((name) => !(name in BENCHES));
if (unknown.length > 0) {
  console.error(
    `unknown benchmark(s): ${unknown.join(', ')}; choose from ${Object.keys(BENCHES).join(', ')}`,
  );
  process.exit(2);
}
const rows: BenchRow[] = [];
for (const name of wanted.length > 0 ? wanted : Object.keys(BENCHES)) {
  console.error(`running ${name}…`);
  rows.push(...(await BENCHES[name]!()));
}
printTable(rows);
console.log(`\nJSON: ${writeJson(rows)}`);
process.exit(0);
