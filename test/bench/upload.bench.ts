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
 * side alone gets the warmer or the dirtier disk).
 *
 * Env: EARSHOT_BENCH_UPLOAD_MB (1024).
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
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

/** `dd bs=1M conv=fdatasync` of the file to the same directory: bytes/s. */
function ddThroughput(source: string, target: string, bytes: number): number {
  const started = performance.now();
  const dd = spawnSync('dd', [`if=${source}`, `of=${target}`, 'bs=1M', 'conv=fdatasync', 'status=none']);
  const seconds = (performance.now() - started) / 1000;
  if (dd.status !== 0) throw new Error(`dd failed (${dd.status}): ${dd.stderr.toString()}`);
  return bytes / seconds;
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

/** One streaming PUT of the whole file, as the agent sends it; resolves to the response. */
function putFile(
  port: number,
  path: string,
  headers: Record<string, string>,
  file: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'PUT', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    pipeline(createReadStream(file, { highWaterMark: MIB }), req).catch(reject);
  });
}

export async function uploadBench(): Promise<BenchRow[]> {
  const megabytes = Number(process.env.EARSHOT_BENCH_UPLOAD_MB || 1024);
  if (!Number.isInteger(megabytes) || megabytes < 1)
    throw new Error(
      `EARSHOT_BENCH_UPLOAD_MB=${process.env.EARSHOT_BENCH_UPLOAD_MB}: expected a whole number ≥ 1`,
    );
  const totalBytes = megabytes * MIB;
  const controllerCli = currentControllerBuild();
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

    const httpPort = await freePort();
    const mqttPort = await freePort();
    const base = `http://127.0.0.1:${httpPort}`;
    controller = startProcess('controller', [controllerCli], {
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
    const sampler = sampleRss(pid);
    const started = performance.now();
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
    const seconds = (performance.now() - started) / 1000;
    const rss = sampler.stop();
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
        `RSS ${(rssBefore / MIB).toFixed(0)} → peak ${(rss.peak / MIB).toFixed(0)} MiB over ${rss.samples} samples`,
    );
    await controller.stop();
    controller = undefined;
    // The controller's copy goes before the second dd, so both dd runs see the same free space.
    await rm(join(dir.path, 'controller'), { recursive: true, force: true });

    const ddAfter = ddThroughput(file, ddOut, totalBytes);
    await rm(ddOut);
    const ddMean = (ddBefore + ddAfter) / 2;
    log(`dd: ${(ddBefore / 1e6).toFixed(0)} MB/s before, ${(ddAfter / 1e6).toFixed(0)} MB/s after`);

    const throughput = totalBytes / seconds;
    const subject = `PUT ${megabytes} MiB cache file → controller process`;
    return [
      {
        bench: 'upload',
        subject,
        metric: 'throughput',
        value: throughput / 1e6,
        unit: 'MB/s',
        reference: {
          subject: 'dd bs=1M conv=fdatasync, same file and disk (mean of before/after)',
          value: ddMean / 1e6,
          ratio: throughput / ddMean,
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
    ];
  } finally {
    await controller?.stop();
    await dir.cleanup();
  }
}
