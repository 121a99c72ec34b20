/**
 * Upload: one cache file (1 GiB) PUT in a single streaming request to
 * AGENT_ROUTES.cacheFile of the compiled controller running as its own process
 * (`node …/controller/src/cli.js`, SQLite, data dir on the same disk), the way
 * an agent uploads: enrolled node, claimed job, the lease's epoch and the file's
 * SHA-256 in the headers. Reports throughput (request start → response) and the
 * controller's resident memory before the upload and at its peak, sampled every
 * 100 ms from /proc/<pid>/status; memory should stay flat however big the file.
 * The recording must come out completed with the same SHA-256, or the bench fails.
 *
 * Reference in the same run: `dd bs=1M conv=fdatasync` of the same file to the same
 * disk, once before and once after the upload (the mean is the reference, so neither
 * side alone gets the warmer or the dirtier disk). Second reference: the same PUT to a
 * bare node:http server (its own process, no disk) that reads the body, and one that
 * reads and SHA-256s it: what loopback HTTP between two Node processes costs before the
 * controller does anything, so the gap to dd splits into transport and controller.
 *
 * Also reports the CPU time (user + system, all threads) the controller spent on the
 * upload, from /proc/<pid>/stat: less at the mercy of other load than the throughput,
 * though a busy machine still inflates it (2.0–3.8 s for the same build here).
 *
 * Results (issue 14; 1 GiB; a busy 2-core machine, so each build ran three times,
 * alternating with the other, with EARSHOT_BENCH_UPLOAD_CONTROLLER pointing at the previous
 * commit's build):
 * - before (a WriteStream of the socket's 64 KiB chunks, one at a time, hashed in a Transform;
 *   fsync at the end; a resumed upload re-read the whole part to hash it): 4.3–4.7 s,
 *   0.46–0.54× of dd (median 0.52×), 0.37–0.60× of the bare hashing server; RSS +29 MiB;
 *   CPU 2.1–2.5 s.
 * - after (part-writer.ts: 2 MiB pwritev batches written behind the request, each byte hashed
 *   once on arrival, a resumed upload re-reads only the bytes it held before; one fdatasync):
 *   3.1–3.6 s and one 6.3 s, 0.19–0.61× of dd (median 0.58×), 0.58–0.67× of the bare
 *   hashing server; RSS +29–30 MiB; CPU 2.1–3.1 s.
 * - tried and dropped: an fdatasync in the background every 32 MiB (to start the writeback
 *   early) was 20–30 % faster in a bare harness but slower in this bench (6.3–8.9 s, 3 of 3).
 * - what bounds it: the bare server that only reads and SHA-256s the body was itself at
 *   0.3–1.2× of dd in the same runs (median 0.9×; 1.7–3.9 s per GiB): loopback HTTP between
 *   two Node processes plus the hash on one core is the ceiling here. The controller's own
 *   share is writing into the page cache (the writer waited on pwritev for 0.4–4.3 s per GiB
 *   in a bare harness, depending on the machine's load).
 * - tried and dropped (issue 14, 2026-12-05): SHA-256 in a worker thread, reading each 2 MiB
 *   batch from shared memory (chunks copied into a pool of 6 reused SharedArrayBuffers, written
 *   and hashed at once). Alternating with the previous build, 1 GiB: 0.14–0.50× of dd (4 runs)
 *   against 0.53–0.83× before, and 2.7× the controller's CPU time (4.6 s against 1.7 s); without
 *   the pool (a new SharedArrayBuffer per batch) the RSS peaked at 1.28 GiB. On two cores shared
 *   with the client, the copy and the cross-thread handoff cost more than the hash they move.
 *
 * - where the controller's CPU goes (2026-12-06, the per-thread figures this bench now logs): of
 *   4.4-4.6 s for 1 GiB, the main thread took 1.5 s (1.1 user: the hash, the HTTP parser) and the
 *   four libuv pool threads about 0.7 s of system time each, writing into the page cache. On this
 *   VM that system time is the hypervisor backing guest pages touched for the first time: after
 *   a process had touched 12 GiB once (36 s of system time, about 330 MB/s), the same upload took
 *   2.3 s of CPU (pool threads 0.7 s in all) and dd's system time fell from 2.4 s to 0.45 s per
 *   GiB. The same cost explains the gap between the two dd runs (the first writes into fresh
 *   pages, the second mostly into the ones the controller's deleted copy gave back). The
 *   transport stays the ceiling either way: the bare server that only reads the body ran at
 *   0.57-0.69× of dd in those runs.
 * - another machine (2026-12-06, same code; AMD EPYC under KVM): 1 GiB in 5.7–5.8 s = 0.36–0.50× of
 *   dd (dd 297–383 MB/s before, 463–650 after); the bare server that only reads the body 0.75–1.03×
 *   of dd (2.75 s), the one that also hashes 3.5–3.6 s; controller CPU 3.6–3.7 s, RSS +31–45 MiB.
 *   There the transport alone about reaches dd; the hash on the request's core and the page-cache
 *   writes on a second core that the client shares make the rest of the gap.
 *
 * - O_DIRECT (2026-12-07; direct-io.ts). Two findings first:
 *   - This bench's PUT client ran inside the bench's own process, where every bench and the
 *     controller's modules are loaded. Its 1 MiB read buffers set off full collections of that
 *     big heap: 2 s of CPU per GiB, against 0.2 s in a small process. The bare servers'
 *     "ceiling" above was the client's: read alone, loopback HTTP moves 1 GiB in 0.5-0.9 s
 *     (1.2-2.0 GB/s), 1.2-1.5 s with the hash. The client now runs in a process of its own.
 *   - The page cache was the controller's cost: its pool threads spent 1.8-2.4 s of kernel time
 *     per GiB writing into it (guest pages touched for the first time, on a VM). O_DIRECT
 *     writes from page-aligned slabs cost 0.1-0.2 s.
 *   Alternating with the previous commit's build (two runs each, same client): before 3.46-3.62
 *   s per GiB (297-310 MB/s), controller CPU 4.1-4.3 s; after 1.58-2.01 s (534-678 MB/s), CPU
 *   1.7-2.1 s; RSS growth 29-31 MiB before, 31-55 MiB after (the socket's 64 KiB chunks wait
 *   for V8's next collection; more of them arrive per second now).
 *   - vs `dd conv=fdatasync`: 1.4-1.9× (8 runs). Its "after" run is slower than before this change
 *     (310-380 MB/s, was 1.2-1.4 GB/s): it no longer gets the pages that the controller's
 *     deleted copy gave back. Against the "before" run alone: 1.3-2.0×.
 *   - vs `dd oflag=direct conv=fdatasync` (1.5-2.0 GB/s here): 0.32-0.43×. The bare server
 *     that reads and hashes is itself 0.4-0.5× of it: SHA-256 on the request's thread
 *     (1.4-1.8 GB/s) and the HTTP transport, on two cores shared with the client, are the
 *     ceiling; the controller reaches 0.64-0.85× of that server.
 *
 * Env: EARSHOT_BENCH_UPLOAD_MB (1024); EARSHOT_BENCH_UPLOAD_CONTROLLER (the compiled
 * cli.js to measure instead of the current sources, e.g. an older commit's build, for
 * a before/after comparison); EARSHOT_BENCH_UPLOAD_PROFILE (a directory: the controller
 * writes a CPU profile there, node --cpu-prof).
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { AGENT_ROUTES, API_PREFIX, type JobLease, UPLOAD_HEADERS } from '../../shared/src/agent-api.js';
import { freePort } from '../support/ports.js';
import { ROOT, type RunningProcess, startProcess, waitFor } from '../support/processes.js';
import { tempDir } from '../support/tmp.js';
import { enrollNode, jsonApi, setupOwner } from './harness.js';
import type { BenchRow } from './report.js';

const MIB = 1024 * 1024;
const RSS_SAMPLE_MS = 100;
const WAV_HEADER_BYTES = 44;

function log(message: string): void {
  console.error(`  upload: ${message}`);
}

/**
 * The controller compiled from the sources as they are now, into .bench/dist (rebuilt
 * when any source is newer). Not dist/: that may be stale, and rebuilding it could
 * pull files from under a test run that uses it. `prisma/` is found by walking up,
 * so the build runs from there as from dist/.
 */
function currentControllerBuild(): string {
  const outDir = join(ROOT, '.bench', 'dist');
  const cli = join(outDir, 'controller', 'src', 'cli.js');
  const builtAt = existsSync(cli) ? statSync(cli).mtimeMs : 0;
  const stale = ['controller/src', 'shared/src'].some((dir) =>
    readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' }).some(
      (file) => file.endsWith('.ts') && statSync(join(ROOT, dir, file)).mtimeMs > builtAt,
    ),
  );
  if (stale) {
    log('compiling the controller into .bench/dist');
    const built = spawnSync(
      process.execPath,
      [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', outDir],
      { cwd: ROOT, stdio: ['ignore', 2, 2] },
    );
    // tsc still emits on type errors (other work in the tree may be mid-edit): measure what it built.
    if (built.status !== 0 && !existsSync(cli))
      throw new Error(`tsc -p tsconfig.build.json failed (${built.status})`);
    if (built.status !== 0) log(`warning: tsc reported errors (${built.status}); measuring what it emitted`);
  }
  return cli;
}

/**
 * A PCM WAV of `totalBytes` (header included) whose data is a random 1 MiB block
 * with the block number stamped in front, so no two blocks are equal. Hashed while
 * written, fsynced so later measurements do not pay for its writeback.
 */
async function writeCacheFile(path: string, totalBytes: number): Promise<string> {
  const hash = createHash('sha256');
  const dataBytes = totalBytes - WAV_HEADER_BYTES;
  const header = Buffer.alloc(WAV_HEADER_BYTES);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(Math.min(0xffff_ffff, totalBytes - 8), 4);
  header.write('WAVE', 8, 'ascii');
  header.write('fmt ', 12, 'ascii');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(2, 22);
  header.writeUInt32LE(48_000, 24);
  header.writeUInt32LE(48_000 * 2 * 2, 28);
  header.writeUInt16LE(4, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36, 'ascii');
  header.writeUInt32LE(Math.min(0xffff_ffff, dataBytes), 40);
  const block = randomBytes(MIB);
  const file = await open(path, 'w');
  try {
    hash.update(header);
    await file.write(header);
    for (let written = 0, n = 0; written < dataBytes; n++) {
      block.writeBigUInt64LE(BigInt(n), 0);
      const chunk = block.subarray(0, Math.min(MIB, dataBytes - written));
      hash.update(chunk);
      await file.write(chunk);
      written += chunk.length;
    }
    await file.sync();
  } finally {
    await file.close();
  }
  return hash.digest('hex');
}

/**
 * `dd bs=1M conv=fdatasync` of the file to the same directory (with `oflag=direct` when
 * `direct`: around the page cache, as the controller writes where it can): bytes/s.
 */
function ddThroughput(source: string, target: string, bytes: number, direct = false): number {
  const started = performance.now();
  const flags = direct ? ['oflag=direct'] : [];
  const dd = spawnSync('dd', [
    `if=${source}`,
    `of=${target}`,
    'bs=1M',
    ...flags,
    'conv=fdatasync',
    'status=none',
  ]);
  const seconds = (performance.now() - started) / 1000;
  if (dd.status !== 0) throw new Error(`dd failed (${dd.status}): ${dd.stderr.toString()}`);
  return bytes / seconds;
}

/** CPU seconds (user + system, every thread) the process has used so far. */
function cpuSeconds(pid: number): number {
  const { user, system } = statCpu(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  return user + system;
}

/** User and system CPU seconds from a /proc `stat` line (a process's or a thread's). */
function statCpu(stat: string): { user: number; system: number } {
  // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticksPerSecond = 100; // USER_HZ on Linux
  return { user: Number(fields[11]) / ticksPerSecond, system: Number(fields[12]) / ticksPerSecond };
}

/** CPU seconds (user, system) per thread of the process, by thread name and id. */
function threadCpu(pid: number): Map<string, { user: number; system: number }> {
  const threads = new Map<string, { user: number; system: number }>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      threads.set(`${name}#${tid}`, statCpu(stat));
    } catch {
      // The thread ended meanwhile.
    }
  }
  return threads;
}

/** The threads that used CPU between two readings, busiest first: "name user+system s". */
function threadCpuDelta(
  before: Map<string, { user: number; system: number }>,
  after: Map<string, { user: number; system: number }>,
): string {
  return [...after]
    .map(([key, now]) => {
      const was = before.get(key) ?? { user: 0, system: 0 };
      return { key, user: now.user - was.user, system: now.system - was.system };
    })
    .filter((t) => t.user + t.system > 0)
    .sort((a, b) => b.user + b.system - (a.user + a.system))
    .map((t) => `${t.key.replace(/#\d+$/, '')} ${t.user.toFixed(2)}+${t.system.toFixed(2)}`)
    .join(', ');
}

function rssBytes(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(match[1]) * 1024;
}

/** Samples the process's RSS every 100 ms until stopped; returns the peak. */
function sampleRss(pid: number): { stop: () => { peak: number; samples: number } } {
  let peak = rssBytes(pid);
  let samples = 1;
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, rssBytes(pid));
      samples++;
    } catch {
      // The process ended; the upload fails on its own.
    }
  }, RSS_SAMPLE_MS);
  return {
    stop: () => {
      clearInterval(timer);
      return { peak: Math.max(peak, rssBytes(pid)), samples: samples + 1 };
    },
  };
}

/**
 * The transport's ceiling: a bare node:http server in its own process that only reads the
 * body (and, with `hash`, SHA-256s it, which the controller must do too), no disk.
 */
const BARE_SERVER = `
const { createServer } = require('node:http');
const { createHash } = require('node:crypto');
const hashing = process.env.BARE_HASH === '1';
createServer((req, res) => {
  const hash = hashing ? createHash('sha256') : undefined;
  let bytes = 0;
  req.on('data', (chunk) => { bytes += chunk.length; hash?.update(chunk); });
  req.on('end', () => res.end(JSON.stringify({ bytes, sha256: hash?.digest('hex') })));
}).listen(Number(process.env.BARE_PORT), '127.0.0.1', () => console.log('listening'));
`;

/** Seconds for the same streaming PUT to BARE_SERVER (discarding, or hashing the body). */
async function barePut(file: string, totalBytes: number, hash: boolean): Promise<number> {
  const port = await freePort();
  const bare = startProcess('bare-http', ['-e', BARE_SERVER], {
    BARE_PORT: String(port),
    BARE_HASH: hash ? '1' : '0',
  });
  try {
    await waitFor('bare server listening', async () =>
      bare.output().includes('listening') ? true : undefined,
    );
    const response = await putFile(port, '/', { 'content-length': String(totalBytes) }, file);
    if (response.status !== 200 || JSON.parse(response.body).bytes !== totalBytes)
      throw new Error(`bare server: ${response.status} ${response.body}`);
    return response.seconds;
  } finally {
    await bare.stop();
  }
}

/**
 * The client: one streaming PUT of the whole file as the agent sends it (1 MiB reads piped
 * into the request), in a process of its own. Run inside this bench's process it measured
 * the bench instead: with every bench and the controller's modules loaded here, the 1 MiB
 * read buffers set off full garbage collections of that big heap, 2 s of CPU per GiB
 * (0.2 s in a small process), and every row paid for it. Prints the status, the body and the
 * seconds from the request's start to the response's end (the process's start not included).
 * It sends a Content-Length with node:http; the agent's uploader sends the same headers and
 * reads through `fetch` (undici), chunked, which cost its process 1.2-2× the CPU of this
 * client in a quick side-by-side (the controller's side is the same either way).
 */
const PUT_CLIENT = `
const { createReadStream } = require('node:fs');
const { request } = require('node:http');
const { pipeline } = require('node:stream/promises');
const { port, path, headers, file } = JSON.parse(process.env.PUT_REQUEST);
const started = performance.now();
const req = request({ host: '127.0.0.1', port, path, method: 'PUT', headers }, (res) => {
  const chunks = [];
  res.on('data', (chunk) => chunks.push(chunk));
  res.on('end', () => {
    const seconds = (performance.now() - started) / 1000;
    const body = Buffer.concat(chunks).toString('utf8');
    process.stdout.write(JSON.stringify({ status: res.statusCode, body, seconds }));
  });
});
req.on('error', (error) => { console.error(error); process.exitCode = 1; });
pipeline(createReadStream(file, { highWaterMark: ${MIB} }), req).catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
`;

/** One streaming PUT of the whole file by PUT_CLIENT; the response and its seconds. */
function putFile(
  port: number,
  path: string,
  headers: Record<string, string>,
  file: string,
): Promise<{ status: number; body: string; seconds: number }> {
  return new Promise((resolve, reject) => {
    const client = spawn(process.execPath, ['-e', PUT_CLIENT], {
      env: { ...process.env, PUT_REQUEST: JSON.stringify({ port, path, headers, file }) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    client.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
    });
    client.stderr.on('data', (chunk: Buffer) => {
      err += chunk.toString('utf8');
    });
    client.on('error', reject);
    client.on('close', (code) => {
      if (code !== 0 || out === '') reject(new Error(`the PUT client failed (${code}): ${err}`));
      else resolve(JSON.parse(out) as { status: number; body: string; seconds: number });
    });
  });
}

export async function uploadBench(): Promise<BenchRow[]> {
  const megabytes = Number(process.env.EARSHOT_BENCH_UPLOAD_MB || 1024);
  if (!Number.isInteger(megabytes) || megabytes < 1)
    throw new Error(
      `EARSHOT_BENCH_UPLOAD_MB=${process.env.EARSHOT_BENCH_UPLOAD_MB}: expected a whole number ≥ 1`,
    );
  const totalBytes = megabytes * MIB;
  const controllerCli = process.env.EARSHOT_BENCH_UPLOAD_CONTROLLER || currentControllerBuild();
  const dir = await tempDir('bench-upload');
  let controller: RunningProcess | undefined;
  try {
    const file = join(dir.path, 'cache.wav');
    const ddOut = join(dir.path, 'dd.out');
    const writeStarted = performance.now();
    const digest = await writeCacheFile(file, totalBytes);
    log(`wrote ${megabytes} MiB test file in ${((performance.now() - writeStarted) / 1000).toFixed(1)} s`);

    const ddBefore = ddThroughput(file, ddOut, totalBytes);
    await rm(ddOut);
    const ddDirectBefore = ddThroughput(file, ddOut, totalBytes, true);
    await rm(ddOut);
    const bareSeconds = await barePut(file, totalBytes, false);
    const bareHashSeconds = await barePut(file, totalBytes, true);
    log(
      `bare node:http server: ${bareSeconds.toFixed(2)} s reading the body, ` +
        `${bareHashSeconds.toFixed(2)} s reading and hashing it`,
    );

    const httpPort = await freePort();
    const mqttPort = await freePort();
    const base = `http://127.0.0.1:${httpPort}`;
    const profileDir = process.env.EARSHOT_BENCH_UPLOAD_PROFILE;
    const nodeArgs = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
    controller = startProcess('controller', [...nodeArgs, controllerCli], {
      EARSHOT_HTTP_PORT: String(httpPort),
      EARSHOT_HTTP_HOST: '127.0.0.1',
      EARSHOT_MQTT_PORT: String(mqttPort),
      EARSHOT_MQTT_HOST: '127.0.0.1',
      EARSHOT_DATA_DIR: join(dir.path, 'controller'),
      EARSHOT_LOG_LEVEL: 'warn',
      DATABASE_URL: undefined,
      EARSHOT_CONFIG_FILE: undefined,
    });
    const running = controller;
    await waitFor(
      'controller ready',
      async () => ((await fetch(`${base}/readyz`)).ok ? true : undefined),
      60_000,
      () => running.output(),
    );
    const pid = controller.child.pid;
    if (pid === undefined) throw new Error('controller has no pid');

    const api = jsonApi(base);
    const owner = await setupOwner(api);
    const nodeId = 'upload-bench';
    const credential = await enrollNode(api, owner, nodeId);
    const created = await api(`${API_PREFIX}/recordings`, {
      body: { nodeId, durationSeconds: 60 },
      token: owner,
    });
    if (created.status !== 201)
      throw new Error(`create recording: ${created.status} ${JSON.stringify(created.data)}`);
    const recordingId = (created.data as { id: string }).id;
    const claimed = await api(`${API_PREFIX}${AGENT_ROUTES.claimNext(nodeId)}`, {
      method: 'POST',
      token: credential,
    });
    const lease = claimed.data as JobLease | null;
    if (claimed.status !== 200 || lease?.recordingId !== recordingId)
      throw new Error(`claim: ${claimed.status} ${JSON.stringify(claimed.data)}`);

    const rssBefore = rssBytes(pid);
    const cpuBefore = cpuSeconds(pid);
    const threadsBefore = threadCpu(pid);
    const sampler = sampleRss(pid);
    const response = await putFile(
      httpPort,
      `${API_PREFIX}${AGENT_ROUTES.cacheFile(recordingId)}`,
      {
        authorization: `Bearer ${credential}`,
        'content-type': 'application/octet-stream',
        'content-length': String(totalBytes),
        [UPLOAD_HEADERS.epoch]: String(lease.epoch),
        [UPLOAD_HEADERS.sha256]: digest,
        [UPLOAD_HEADERS.totalBytes]: String(totalBytes),
      },
      file,
    );
    const seconds = response.seconds;
    const rss = sampler.stop();
    const cpu = cpuSeconds(pid) - cpuBefore;
    const threads = threadCpuDelta(threadsBefore, threadCpu(pid));
    if (response.status !== 200) throw new Error(`upload: ${response.status} ${response.body.slice(0, 500)}`);
    const status = (JSON.parse(response.body) as { data: { complete: boolean; sha256: string | null } }).data;
    const recording = (await api(`${API_PREFIX}/recordings/${recordingId}`, { token: owner })).data as {
      state: string;
      sha256: string | null;
      sizeBytes: number | null;
    };
    if (!status.complete || recording.state !== 'completed' || recording.sha256 !== digest)
      throw new Error(
        `the controller did not complete the upload: ${JSON.stringify({ status, recording, expected: digest })}`,
      );
    if (recording.sizeBytes !== totalBytes) throw new Error(`size ${recording.sizeBytes} ≠ ${totalBytes}`);
    log(
      `PUT ${megabytes} MiB in ${seconds.toFixed(2)} s; completed, sha256 verified; ` +
        `RSS ${(rssBefore / MIB).toFixed(0)} → peak ${(rss.peak / MIB).toFixed(0)} MiB over ${rss.samples} samples; ` +
        `controller CPU ${cpu.toFixed(2)} s (${controllerCli})`,
    );
    log(`controller CPU by thread (user+system s): ${threads}`);
    await controller.stop();
    controller = undefined;
    // The controller's copy goes before the second dd, so both dd runs see the same free space.
    await rm(join(dir.path, 'controller'), { recursive: true, force: true });

    const ddAfter = ddThroughput(file, ddOut, totalBytes);
    await rm(ddOut);
    const ddDirectAfter = ddThroughput(file, ddOut, totalBytes, true);
    await rm(ddOut);
    const ddMean = (ddBefore + ddAfter) / 2;
    const ddDirectMean = (ddDirectBefore + ddDirectAfter) / 2;
    const mbs = (bytesPerSecond: number) => (bytesPerSecond / 1e6).toFixed(0);
    log(
      `dd: ${mbs(ddBefore)} MB/s before, ${mbs(ddAfter)} MB/s after; ` +
        `with oflag=direct ${mbs(ddDirectBefore)} before, ${mbs(ddDirectAfter)} after`,
    );

    const throughput = totalBytes / seconds;
    const subject = `PUT ${megabytes} MiB cache file → controller process`;
    const vsDd = (flags: string, ddBytesPerSecond: number): BenchRow => ({
      bench: 'upload',
      subject,
      metric: 'throughput',
      value: throughput / 1e6,
      unit: 'MB/s',
      reference: {
        subject: `dd bs=1M ${flags}, same file and disk (mean of before/after)`,
        value: ddBytesPerSecond / 1e6,
        ratio: throughput / ddBytesPerSecond,
      },
    });
    return [
      vsDd('conv=fdatasync', ddMean),
      vsDd('oflag=direct conv=fdatasync', ddDirectMean),
      {
        bench: 'upload',
        subject: `${subject} (vs the transport alone)`,
        metric: 'throughput',
        value: throughput / 1e6,
        unit: 'MB/s',
        reference: {
          subject: 'same PUT to a bare node:http server that reads and SHA-256s the body, no disk',
          value: totalBytes / bareHashSeconds / 1e6,
          ratio: bareHashSeconds / seconds,
        },
      },
      {
        bench: 'upload',
        subject: 'same PUT to a bare node:http server that only reads the body',
        metric: 'throughput',
        value: totalBytes / bareSeconds / 1e6,
        unit: 'MB/s',
        reference: {
          subject: 'dd bs=1M conv=fdatasync (as above)',
          value: ddMean / 1e6,
          ratio: totalBytes / bareSeconds / ddMean,
        },
      },
      {
        bench: 'upload',
        subject: `${subject}: controller peak RSS`,
        metric: 'peak RSS',
        value: rss.peak / MIB,
        unit: 'MiB',
        reference: {
          subject: 'controller RSS before the upload',
          value: rssBefore / MIB,
          ratio: rss.peak / rssBefore,
        },
      },
      {
        bench: 'upload',
        subject: `${subject}: controller RSS growth`,
        metric: 'peak − before',
        value: (rss.peak - rssBefore) / MIB,
        unit: 'MiB',
      },
      {
        bench: 'upload',
        subject: `${subject}: controller CPU (user + system)`,
        metric: 'CPU time',
        value: cpu,
        unit: 's',
      },
    ];
  } finally {
    await controller?.stop();
    await dir.cleanup();
  }
}
