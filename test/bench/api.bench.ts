/**
 * API reads through access control: the hook that resolves the caller and checks its
 * declared access runs on every request. A real controller (harness.ts, the one the
 * claims bench uses) listens on loopback with many sites (50 × 3 nodes, 4 recordings
 * each); one operator holds the `operator` role over ONE of those sites. Workloads, each
 * at the same concurrency for the same time after the same warm-up:
 *
 *   - `GET /api/v1/nodes` with the operator's session cookie (`earshot_session`);
 *   - `GET /api/v1/nodes` with the operator's API token as `Authorization: Bearer`;
 *   - `GET /api/v1/recordings` with the API token.
 *
 * Reports req/s and p99 latency for each. Reference in the same run: a bare `Fastify()`
 * with one GET route returning a small JSON, in the same process as the controller, under
 * the same load, measured before and after the scoped reads (the mean is the reference, so
 * neither side alone gets a quieter or a busier machine). Every scoped request must answer
 * 2xx: any other status fails the bench, since a bench of 401s measures nothing. Before the
 * load, one request per workload checks the answer is scoped (only the operator's site).
 *
 * The load generator is this file forked as its own process, so the clients never share an
 * event loop with the servers under test. It keeps N HTTP/1.1 keep-alive connections, one
 * request in flight on each, written as pre-encoded bytes and parsed by content-length:
 * node:http's client cost more CPU per request than a bare Fastify answers one, which would
 * have made the generator the limit of the reference and flattered every ratio. No load
 * generator dependency (autocannon): a new devDependency changes package-lock.json, and
 * scripts/npm-deps.sh then runs `npm ci` on the next `npm test` or `npm run bench`.
 * Each window logs both event loops' utilisation, so a reader can tell which side was the limit.
 *
 * Numbers on the 2-core dev box (shared with other work; compare ratios, and each row with its
 * own before/after, since the hello-world reference itself swings 20k–55k req/s with the load):
 *   before (each request resolved the credential from scratch: token or session row with its
 *   user, then the user's grants and group grants, every query through Prisma's model API):
 *     SQLite nodes 302/s (cookie and token), recordings 225/s = 0.004–0.006× hello-world;
 *     PostgreSQL nodes 296/s (cookie), 262/s (token), recordings 169/s = 0.004–0.008×.
 *   after (resolved callers cached per credential while the access generation holds; one
 *   shared generation read per batch of waiting requests): SQLite nodes 610–670/s, recordings
 *   335–380/s; PostgreSQL nodes 591–679/s, recordings 333–396/s = 0.011–0.03× (about 2.2×
 *   the before rates). In-process (inject) a token-authenticated node list went from 2.95 ms
 *   to 1.2 ms; /healthz is 0.11–0.13 ms.
 *   What was left was the list query itself: Prisma's model API spends most of a request in its
 *   WebAssembly query planner (40 % of CPU in a profile) and the adapter re-preparing the
 *   statement; the same node list as one raw query measured 0.41 ms per request in-process.
 *   now (the node and recording lists and the access-generation read on the raw driver,
 *   controller/src/db/raw.ts: one prepared statement each, rows built in one pass, the same
 *   rows and JSON as before): SQLite nodes 3,005–3,778/s (cookie), 3,148–3,382/s (token) =
 *   0.12–0.16×, recordings 1,443–1,800/s = 0.07–0.08×; PostgreSQL nodes 2,654–3,040/s
 *   (cookie), 3,019–3,020/s (token) = 0.16–0.18×, recordings 1,076–1,428/s = 0.06–0.08×
 *   (load average 5–6 from other work). A profile of the recording list (12 recordings with
 *   their jobs, 11.5 kB) puts a third of its CPU in reading the ~50 columns of each row (SQLite)
 *   or parsing them (pg), a fifth in serialising and writing the answer; 0.15× there needs
 *   fewer bytes per row (a narrower list shape) or a cheaper serialiser, not a cheaper query.
 *   then (a list's LIMIT written into the statement: a bound LIMIT made SQLite recompile the
 *   prepared statement on every run, ~25–45 µs even for an empty page; the recording list reads
 *   each row as one JSON value with only the listed columns, DateTime as ISO text; both pages
 *   written by JSON.stringify, fast-json-stringify having run an ajv check per nullable value;
 *   the same bytes, test/integration/list-answers.test.ts): SQLite nodes 4,589–5,524/s (cookie),
 *   4,950–5,666/s (token) = 0.13–0.27×, recordings 3,018–4,365/s = 0.10–0.18×; PostgreSQL nodes
 *   2,867–3,473/s (cookie), 2,342–3,673/s (token) = 0.08–0.19×, recordings 1,957–2,220/s =
 *   0.06–0.10× (4 runs, hello-world 20k–42k req/s, load average 3–6). Server CPU per request
 *   in-process (steadier than the ratios): SQLite nodes 276 → 167 µs, recordings 555 → 296 µs;
 *   PostgreSQL nodes 240 → 225 µs, recordings 431 → 318 µs. What is left: on SQLite about
 *   170 µs a request that is not the list (Fastify's hooks, the cookie and websocket plugins'
 *   wrappers, HTTP metrics, the socket write: a fifth of the profile); on PostgreSQL the two
 *   cores are shared with the server process, whose time per list query (~0.2–0.3 ms) and the
 *   round trip bound the rate more than the controller's CPU.
 *   now (both pages written as JSON text straight from the cells the list reads, no objects built
 *   then serialised: listed-json.ts in each module; the node list reads only what it shows; the
 *   hooks every request runs are callback hooks, not async ones): server CPU per request on
 *   SQLite, same machine, nodes 154–158 → 105–111 µs, recordings 264 → 225–227 µs. On the quiet
 *   machine (load under 1.5) hello-world answers 58k–61k req/s at 15–17 µs each, so the ratios are
 *   lower than on the busy one above, where the reference suffers most: SQLite nodes 8,996–9,524/s
 *   = 0.15× (cookie and token), recordings 4,232–4,436/s = 0.07×; PostgreSQL (its server on the
 *   same two cores) nodes 4,285–4,751/s = 0.07–0.08×, recordings 1,967/s = 0.03×. Of a node list
 *   about a quarter is kernel time (the socket's read and write: each answer wakes the generator,
 *   idle between answers, which a busy hello-world's does not); the recording list's statement
 *   alone runs ~32 µs (43 µs under load), and reading its 12 rows' cells and writing 12.6 kB of
 *   JSON ~50 µs more, with a fifth of its CPU in the garbage collector.
 *   another machine (2026-12-06, same code; AMD EPYC under KVM, where loopback costs more): hello-
 *   world 19.8k–22.5k req/s at 47–54 µs of server CPU, a third of it in the kernel; SQLite nodes
 *   4,251–4,679/s = 0.19–0.24× (cookie and token, ~218 µs), recordings 2,561–2,753/s =
 *   0.12–0.14× (~350 µs). Measured apart, in-process, on that machine: the node list's statement
 *   and rows 20 µs; the access-generation read 5 µs, ~3 µs of it the read transaction's locks on
 *   the WAL file (the same statement takes 1 µs on an in-memory database; `PRAGMA data_version`,
 *   which would tell another connection's commits, opens a read transaction too: 3.7 µs of the
 *   read's 4.4); the recording list's statement 52 µs (its bare join of 12 rows 26 µs), its cells
 *   parsed 21 µs and written 31 µs; a public route (`/healthz`) ~20 µs above hello-world. SQLite
 *   writing each listed recording's final JSON itself (`json_object`, dates by `strftime`) took
 *   101 µs against 52 + 21 + 31: not worth a second writer per dialect.
 *   then (2026-12-07, same AMD EPYC machine; the access-generation read started in the loop's
 *   check phase, shared by every request read in the poll phase before it, instead of one read per
 *   request: on SQLite a statement runs synchronously, so each request's read had finished before
 *   the next request was parsed, and none was ever shared): the SQLite reads fell from one per
 *   request (40,630 for 40,630 node lists, 10–12 µs each) to one per ~30, and the requests of a
 *   poll phase now run their handlers back to back (the node list's statement 23 → 11–14 µs, warm).
 *   SQLite nodes 4,966–5,783/s (201 and 173 µs of server CPU) → 11,138–12,664/s (81–90 µs) =
 *   0.29–0.33× (cookie and token; p99 12.8 → 6.2–6.5 ms), recordings 3,153/s (322 µs) →
 *   4,272–5,193/s (193–237 µs) = 0.11–0.13×; PostgreSQL (its server on the same two cores) nodes
 *   3,048–3,419/s = 0.08–0.09×, recordings 1,543/s = 0.04×. What is left of a recording list
 *   (profile): its statement a fifth, parsing its cells and writing the page's JSON a fifth, the
 *   garbage collector 8 %.
 *   then (2026-12-07, same machine; the recording list keeps each row's JSON while the row is
 *   unchanged, recordings/listed-json.ts, and copies it into the page as bytes; on PostgreSQL the
 *   statements outside a transaction asked for in one turn of the loop leave in groups of four per
 *   connection, one write each, db/raw-pg.ts): SQLite recordings 5,461/s (184 µs of server CPU)
 *   → 7,104–9,293/s (108 µs) = 0.16–0.29× (hello-world 31k–44k/s); nodes 13,093–14,212/s →
 *   15,594–18,143/s (60–65 µs) = 0.35–0.45×. PostgreSQL (its server on the same two cores; the
 *   reference swung 29k–51k/s between windows of one run): nodes 3,063–3,763/s (246–252 µs) →
 *   4,067–5,856/s (122–194 µs) = 0.10–0.14×, recordings 1,815–2,128/s (315 µs) → 2,530–3,044/s
 *   (175–224 µs) = 0.06–0.07×. What is left there is the kernel: each write to a socket (the
 *   answer to the load generator, a group of statements to a server process) wakes a process on
 *   two busy cores, a third of the controller's CPU; and the server's own time per list.
 *
 * Databases: SQLite; also PostgreSQL when EARSHOT_BENCH_API_DB (or EARSHOT_TEST_DB) says
 * `postgres` (a comma-separated list, e.g. `sqlite,postgres`).
 * Env: EARSHOT_BENCH_API_CONNECTIONS (32), EARSHOT_BENCH_API_SECONDS (10),
 * EARSHOT_BENCH_API_WARMUP_SECONDS (2), EARSHOT_BENCH_API_SITES (50), EARSHOT_BENCH_API_PROFILE (a
 * directory: a CPU profile of the servers' process during each measured window is written there).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import Fastify from 'fastify';
import { API_PREFIX } from '../../shared/src/agent-api.js';
import { type BenchController, benchController, profiled, withPostgres } from './harness.js';
import { type BenchRow, percentile } from './report.js';

const NODES_PER_SITE = 3;
const RECORDINGS_PER_NODE = 4;
const SEED_CONCURRENCY = 8;
/** At most this many requests in one window, whatever its duration. */
const MAX_REQUESTS_PER_WINDOW = 5_000_000;
/** A request not answered in this time fails the window. */
const REQUEST_TIMEOUT_MS = 10_000;
const LOADGEN_ENV = 'EARSHOT_BENCH_API_LOADGEN';
/** A directory: a CPU profile of this process during each measured window is written there. */
const PROFILE_DIR = process.env.EARSHOT_BENCH_API_PROFILE;

export interface Settings {
  connections: number;
  seconds: number;
  warmupSeconds: number;
  sites: number;
  databases: ('sqlite' | 'postgres')[];
}

function settingsFromEnv(env = process.env): Settings {
  const num = (name: string, fallback: number) => {
    const raw = env[name];
    const value = raw === undefined || raw === '' ? fallback : Number(raw);
    if (!Number.isFinite(value) || value <= 0) throw new Error(`${name}=${raw}: expected a positive number`);
    return value;
  };
  const databases = (env.EARSHOT_BENCH_API_DB || env.EARSHOT_TEST_DB || 'sqlite')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  for (const db of databases)
    if (db !== 'sqlite' && db !== 'postgres')
      throw new Error(`EARSHOT_BENCH_API_DB: ${db}: expected sqlite or postgres`);
  return {
    connections: Math.round(num('EARSHOT_BENCH_API_CONNECTIONS', 32)),
    seconds: num('EARSHOT_BENCH_API_SECONDS', 10),
    warmupSeconds: num('EARSHOT_BENCH_API_WARMUP_SECONDS', 2),
    sites: Math.round(num('EARSHOT_BENCH_API_SITES', 50)),
    databases: [...new Set(databases)] as Settings['databases'],
  };
}

function log(message: string): void {
  console.error(`  api: ${message}`);
}

// ---------------------------------------------------------------------------------------
// Load generator (the forked side)

export interface Target {
  port: number;
  path: string;
  headers: Record<string, string>;
  /** GET unless set; a POST is sent with an empty body. */
  method?: 'GET' | 'POST';
}

type LoadRequest =
  | { type: 'window'; target: Target; connections: number; durationMs: number }
  | { type: 'close' };

interface WindowResult {
  requests: number;
  seconds: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Responses by status code. */
  statuses: Record<string, number>;
  /** Answers that were not 2xx. */
  non2xx: number;
  /** Connection errors, timeouts and unparseable answers; the first one's message. */
  errors: number;
  firstError?: string;
  /** Event-loop utilisation of the generator during the window (near 1: the generator is the limit). */
  generatorElu: number;
}

type LoadReply = { type: 'window'; result: WindowResult } | { type: 'error'; message: string };

const HEADER_END = Buffer.from('\r\n\r\n');

/** One keep-alive HTTP/1.1 connection, one request in flight, answers framed by content-length. */
class Connection {
  private readonly socket: Socket;
  private buffer: Buffer = Buffer.alloc(0);
  private waiting: { resolve: (status: number) => void; reject: (error: Error) => void } | undefined;
  private failure: Error | undefined;
  readonly ready: Promise<void>;

  constructor(port: number) {
    this.socket = connect({ host: '127.0.0.1', port, noDelay: true });
    this.ready = new Promise((resolve, reject) => {
      this.socket.once('connect', () => resolve());
      this.socket.once('error', reject);
    });
    this.socket.on('data', (chunk: Buffer) => {
      this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
      this.parse();
    });
    this.socket.on('error', (error) => this.fail(error));
    this.socket.on('close', () => this.fail(new Error('connection closed by the server')));
  }

  request(bytes: Buffer): Promise<number> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => this.fail(new Error(`no answer in ${REQUEST_TIMEOUT_MS} ms`)),
        REQUEST_TIMEOUT_MS,
      );
      this.waiting = {
        resolve: (status) => {
          clearTimeout(timer);
          resolve(status);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      this.socket.write(bytes);
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private parse(): void {
    const end = this.buffer.indexOf(HEADER_END);
    if (end < 0) return;
    const head = this.buffer.toString('latin1', 0, end);
    const status = Number(head.slice(9, 12));
    const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    if (!head.startsWith('HTTP/1.1 ') || !Number.isInteger(status) || !length) {
      this.fail(new Error(`unexpected answer (no content-length?): ${head.split('\r\n')[0]}`));
      return;
    }
    const total = end + HEADER_END.length + Number(length[1]);
    if (this.buffer.length < total) return;
    if (this.buffer.length > total) {
      this.fail(new Error('more bytes than the one answer asked for'));
      return;
    }
    this.buffer = Buffer.alloc(0);
    const waiting = this.waiting;
    this.waiting = undefined;
    if (/\r\nconnection:\s*close/i.test(head)) this.fail(new Error('the server closed the connection'));
    waiting?.resolve(status);
  }

  private fail(error: Error): void {
    this.failure ??= error;
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.reject(error);
    this.socket.destroy();
  }
}

function encodeRequest(target: Target): Buffer {
  const lines = [`${target.method ?? 'GET'} ${target.path} HTTP/1.1`, `host: 127.0.0.1:${target.port}`];
  for (const [name, value] of Object.entries(target.headers)) lines.push(`${name}: ${value}`);
  if (target.method === 'POST') lines.push('content-length: 0');
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
}

async function runWindow(target: Target, connections: number, durationMs: number): Promise<WindowResult> {
  const bytes = encodeRequest(target);
  const pool = Array.from({ length: connections }, () => new Connection(target.port));
  await Promise.all(pool.map((c) => c.ready));
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let errors = 0;
  let firstError: string | undefined;
  let stop = false;
  const started = performance.now();
  const elu = performance.eventLoopUtilization();
  const timer = setTimeout(() => {
    stop = true;
  }, durationMs);
  await Promise.all(
    pool.map(async (connection) => {
      while (!stop && latencies.length < MAX_REQUESTS_PER_WINDOW) {
        const sent = performance.now();
        try {
          const status = await connection.request(bytes);
          latencies.push(performance.now() - sent);
          statuses[status] = (statuses[status] ?? 0) + 1;
        } catch (error) {
          errors++;
          firstError ??= (error as Error).message;
          return; // this connection is gone; the window is failed anyway
        }
      }
    }),
  );
  clearTimeout(timer);
  const seconds = (performance.now() - started) / 1000;
  const generatorElu = performance.eventLoopUtilization(elu).utilization;
  for (const connection of pool) connection.close();
  latencies.sort((a, b) => a - b);
  const non2xx = Object.entries(statuses)
    .filter(([status]) => !status.startsWith('2'))
    .reduce((sum, [, count]) => sum + count, 0);
  return {
    requests: latencies.length,
    seconds,
    perSecond: latencies.length / seconds,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    maxMs: latencies.at(-1) ?? Number.NaN,
    statuses,
    non2xx,
    errors,
    firstError,
    generatorElu,
  };
}

function serveLoadGenerator(): void {
  const send = (reply: LoadReply) => process.send!(reply);
  process.on('message', (request: LoadRequest) => {
    if (request.type === 'close') {
      process.disconnect();
      return;
    }
    runWindow(request.target, request.connections, request.durationMs).then(
      (result) => send({ type: 'window', result }),
      (error: Error) => send({ type: 'error', message: error.stack ?? error.message }),
    );
  });
}

/** The forked generator, driven one window at a time over IPC (the claims bench uses it too). */
export class LoadGenerator {
  private readonly child: ChildProcess;
  private pending: { resolve: (reply: LoadReply) => void; reject: (error: Error) => void } | undefined;
  private exited = false;
  private readonly exit: Promise<void>;

  constructor() {
    this.child = fork(fileURLToPath(import.meta.url), [], {
      execArgv: process.execArgv,
      env: { ...process.env, [LOADGEN_ENV]: '1' },
      serialization: 'advanced', // keeps NaN percentiles as NaN
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.child.on('message', (reply: LoadReply) => {
      const pending = this.pending;
      this.pending = undefined;
      pending?.resolve(reply);
    });
    this.exit = new Promise((resolve) =>
      this.child.once('exit', (code, signal) => {
        this.exited = true;
        const pending = this.pending;
        this.pending = undefined;
        pending?.reject(new Error(`load generator exited (${signal ?? `code ${code}`})`));
        resolve();
      }),
    );
  }

  async window(target: Target, connections: number, durationMs: number): Promise<WindowResult> {
    if (this.exited) throw new Error('load generator is not running');
    const reply = await new Promise<LoadReply>((resolve, reject) => {
      this.pending = { resolve, reject };
      this.child.send({ type: 'window', target, connections, durationMs } satisfies LoadRequest);
    });
    if (reply.type === 'error') throw new Error(`load generator: ${reply.message}`);
    return reply.result;
  }

  /** Asks it to exit; kills it (our own child, by its handle) if it does not in time. */
  async close(): Promise<void> {
    if (this.exited) return;
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    this.child.send({ type: 'close' } satisfies LoadRequest);
    await this.exit;
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------------------
// Servers and workloads (the bench side)

export interface Measured extends WindowResult {
  serverElu: number;
  /** This process's CPU time (user + system) per answered request, in µs: steadier than a rate on a shared machine. */
  serverCpuUsPerRequest: number;
}

export async function measure(
  generator: LoadGenerator,
  settings: Pick<Settings, 'connections' | 'seconds' | 'warmupSeconds'>,
  name: string,
  target: Target,
): Promise<Measured> {
  await generator.window(target, settings.connections, settings.warmupSeconds * 1000);
  const elu = performance.eventLoopUtilization();
  const cpu = process.cpuUsage();
  const result = await profiled(PROFILE_DIR, name.replace(/[^A-Za-z0-9]+/g, '-'), () =>
    generator.window(target, settings.connections, settings.seconds * 1000),
  );
  const serverElu = performance.eventLoopUtilization(elu).utilization;
  const used = process.cpuUsage(cpu);
  const serverCpuUsPerRequest = (used.user + used.system) / Math.max(1, result.requests);
  log(
    `${name}: ${result.requests} requests in ${result.seconds.toFixed(1)} s = ` +
      `${Math.round(result.perSecond)}/s, p50 ${result.p50Ms.toFixed(2)} ms, p99 ${result.p99Ms.toFixed(2)} ms, ` +
      `max ${result.maxMs.toFixed(1)} ms; statuses ${JSON.stringify(result.statuses)}; ` +
      `server CPU ${serverCpuUsPerRequest.toFixed(0)} µs/request (${((100 * used.system) / Math.max(1, used.user + used.system)).toFixed(0)} % in the kernel); event loop busy: servers ${(serverElu * 100).toFixed(0)} %, generator ${(result.generatorElu * 100).toFixed(0)} %`,
  );
  if (result.errors > 0 || result.non2xx > 0)
    throw new Error(
      `${name}: ${result.non2xx} non-2xx answers (${JSON.stringify(result.statuses)}) and ` +
        `${result.errors} failed connections${result.firstError ? ` (first: ${result.firstError})` : ''}; ` +
        'a bench of failed requests measures nothing',
    );
  return { ...result, serverElu, serverCpuUsPerRequest };
}

export async function helloWorld(): Promise<{ port: number; close: () => Promise<void> }> {
  const app = Fastify({ logger: false });
  app.get('/hello', async () => ({ hello: 'world' }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (typeof address !== 'object' || !address) throw new Error('hello-world: no address');
  return { port: address.port, close: () => app.close() };
}

/** Runs `fn` over `items` with at most `limit` in flight. */
async function inParallel<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

interface Seeded {
  /** The operator's site and its nodes. */
  siteName: string;
  nodeIds: string[];
  sessionCookie: string;
  apiToken: string;
}

/**
 * Sites, nodes and recordings through the API; the operator straight in the database
 * (as `userWithRole` in test/support/controller.ts does: there is no user-management API
 * yet), then logged in over HTTP for its session cookie and an API token.
 */
async function seed(ctl: BenchController, sites: number): Promise<Seeded> {
  const siteName = (s: number) => `site-${String(s).padStart(3, '0')}`;
  const nodes = Array.from({ length: sites * NODES_PER_SITE }, (_, i) => ({
    id: `n-${String(Math.floor(i / NODES_PER_SITE)).padStart(3, '0')}-${i % NODES_PER_SITE}`,
    site: siteName(Math.floor(i / NODES_PER_SITE)),
  }));
  // Each site's first node alone creates the site: enrolling two nodes into a site that does
  // not exist yet at the same time can race on the site's unique name (a 500 on PostgreSQL).
  for (const round of [0, 1])
    await inParallel(
      nodes.filter((_, i) => (i % NODES_PER_SITE === 0) === (round === 0)),
      SEED_CONCURRENCY,
      async (node) => {
        await ctl.enroll(node.id, node.site);
      },
    );
  const recordings = nodes.flatMap((node) => Array.from({ length: RECORDINGS_PER_NODE }, () => node.id));
  await inParallel(recordings, SEED_CONCURRENCY, async (nodeId) => {
    const created = await ctl.api(`${API_PREFIX}/recordings`, {
      body: { nodeId, durationSeconds: 10 },
      token: ctl.ownerToken,
    });
    if (created.status !== 201)
      throw new Error(`create recording: ${created.status} ${JSON.stringify(created.data)}`);
  });

  const mine = siteName(Math.floor(sites / 2));
  const site = await ctl.db.site.findUniqueOrThrow({ where: { name: mine } });
  const { hashPassword } = await import('../../controller/src/crypto/password.js');
  const role = await ctl.db.role.findUniqueOrThrow({ where: { name: 'operator' } });
  const operator = { username: 'bench-operator', password: 'bench-operator-password-123' };
  await ctl.db.user.create({
    data: {
      username: operator.username,
      displayName: operator.username,
      passwordHash: await hashPassword(operator.password, 10),
      grants: { create: { roleId: role.id, scopeType: 'site', scopeId: site.id } },
    },
  });
  const login = await fetch(`${ctl.base}${API_PREFIX}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(operator),
  });
  if (login.status !== 200) throw new Error(`operator login: ${login.status} ${await login.text()}`);
  const sessionCookie = login.headers
    .getSetCookie()
    .map((c) => c.split(';')[0]!)
    .find((c) => c.startsWith('earshot_session='));
  if (!sessionCookie) throw new Error('operator login set no earshot_session cookie');
  const session = ((await login.json()) as { data: { token: string } }).data.token;
  const created = await ctl.api(`${API_PREFIX}/auth/api-tokens`, { body: { name: 'bench' }, token: session });
  if (created.status !== 201) throw new Error(`api token: ${created.status} ${JSON.stringify(created.data)}`);
  return {
    siteName: mine,
    nodeIds: nodes.filter((n) => n.site === mine).map((n) => n.id),
    sessionCookie,
    apiToken: (created.data as { token: string }).token,
  };
}

/** One request per workload before the load: 200 and only the operator's site in the answer. */
async function checkScoped(base: string, seeded: Seeded, workloads: Workload[]): Promise<void> {
  const expected = [...seeded.nodeIds].sort();
  for (const { name, target } of workloads) {
    const response = await fetch(`${base}${target.path}`, { headers: target.headers });
    const body = (await response.json()) as { data: { id: string; nodeId?: string }[] };
    if (response.status !== 200) throw new Error(`${name}: ${response.status} ${JSON.stringify(body)}`);
    const seen = target.path.includes('/recordings')
      ? [...new Set(body.data.map((r) => r.nodeId ?? ''))].sort()
      : body.data.map((n) => n.id).sort();
    const count = target.path.includes('/recordings')
      ? expected.length * RECORDINGS_PER_NODE
      : expected.length;
    if (JSON.stringify(seen) !== JSON.stringify(expected) || body.data.length !== count)
      throw new Error(
        `${name}: expected the ${count} items of ${seeded.siteName} only, got ${body.data.length} ` +
          `for nodes ${seen.join(', ')}`,
      );
  }
}

interface Workload {
  name: string;
  target: Target;
}

async function apiRun(
  label: string,
  settings: Settings,
  generator: LoadGenerator,
  hello: Target,
  databaseUrl?: string,
): Promise<BenchRow[]> {
  const ctl = await benchController(databaseUrl);
  try {
    const seedStarted = performance.now();
    const seeded = await seed(ctl, settings.sites);
    log(
      `${label}: seeded ${settings.sites} sites × ${NODES_PER_SITE} nodes × ${RECORDINGS_PER_NODE} recordings ` +
        `in ${((performance.now() - seedStarted) / 1000).toFixed(1)} s; operator over ${seeded.siteName}`,
    );
    const port = Number(new URL(ctl.base).port);
    const bearer = { authorization: `Bearer ${seeded.apiToken}` };
    const workloads: Workload[] = [
      {
        name: `GET ${API_PREFIX}/nodes, session cookie`,
        target: { port, path: `${API_PREFIX}/nodes`, headers: { cookie: seeded.sessionCookie } },
      },
      {
        name: `GET ${API_PREFIX}/nodes, API token`,
        target: { port, path: `${API_PREFIX}/nodes`, headers: bearer },
      },
      {
        name: `GET ${API_PREFIX}/recordings, API token`,
        target: { port, path: `${API_PREFIX}/recordings`, headers: bearer },
      },
    ];
    await checkScoped(ctl.base, seeded, workloads);

    const helloBefore = await measure(generator, settings, `${label}: hello-world (before)`, hello);
    const results: { workload: Workload; measured: Measured }[] = [];
    for (const workload of workloads)
      results.push({
        workload,
        measured: await measure(generator, settings, `${label}: ${workload.name}`, workload.target),
      });
    const helloAfter = await measure(generator, settings, `${label}: hello-world (after)`, hello);

    const ref = {
      subject: `hello-world, ${settings.connections} conns`,
      perSecond: (helloBefore.perSecond + helloAfter.perSecond) / 2,
      p99Ms: (helloBefore.p99Ms + helloAfter.p99Ms) / 2,
    };
    const rows: BenchRow[] = [
      {
        bench: 'api',
        subject: `${label}: ${ref.subject} (mean of before/after)`,
        metric: 'req/s',
        value: ref.perSecond,
        unit: '/s',
      },
      {
        bench: 'api',
        subject: `${label}: ${ref.subject} (mean of before/after)`,
        metric: 'p99',
        value: ref.p99Ms,
        unit: 'ms',
      },
    ];
    for (const { workload, measured } of results) {
      const subject = `${label}: ${workload.name}, operator of 1/${settings.sites} sites`;
      rows.push(
        {
          bench: 'api',
          subject,
          metric: 'req/s',
          value: measured.perSecond,
          unit: '/s',
          reference: {
            subject: ref.subject,
            value: ref.perSecond,
            ratio: measured.perSecond / ref.perSecond,
          },
        },
        {
          bench: 'api',
          subject,
          metric: 'p99',
          value: measured.p99Ms,
          unit: 'ms',
          reference: { subject: ref.subject, value: ref.p99Ms, ratio: measured.p99Ms / ref.p99Ms },
        },
        { bench: 'api', subject, metric: 'non-2xx', value: measured.non2xx, unit: `of ${measured.requests}` },
      );
    }
    return rows;
  } finally {
    await ctl.stop();
  }
}

export async function apiBench(): Promise<BenchRow[]> {
  const settings = settingsFromEnv();
  log(
    `${settings.connections} connections, ${settings.warmupSeconds} s warm-up + ${settings.seconds} s per workload; ` +
      `databases: ${settings.databases.join(', ')}`,
  );
  const hello = await helloWorld();
  const generator = new LoadGenerator();
  try {
    const helloTarget: Target = { port: hello.port, path: '/hello', headers: {} };
    const rows: BenchRow[] = [];
    for (const db of settings.databases)
      rows.push(
        ...(db === 'postgres'
          ? await withPostgres((url) => apiRun('PostgreSQL', settings, generator, helloTarget, url))
          : await apiRun('SQLite', settings, generator, helloTarget)),
      );
    return rows;
  } finally {
    await generator.close();
    await hello.close();
  }
}

if (process.env[LOADGEN_ENV] === '1' && process.send) serveLoadGenerator();
