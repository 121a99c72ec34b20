// A throwaway PostgreSQL cluster for tests: initdb into a temp dir, start on a free loopback port
// with a private socket directory, trust auth, fsync off. Needs Debian's `postgresql` package
// (scripts/system-deps.sh installs it). As root the cluster runs as the `postgres` user.
import { execFile, spawnSync } from 'node:child_process';
import { accessSync, chmodSync, chownSync, constants, readdirSync, readFileSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { delimiter, dirname, join } from 'node:path';
import pg from 'pg';
import { freePort } from './ports.js';
import { tempDir } from './tmp.js';

export interface RunningPostgres {
  /** postgres://postgres@127.0.0.1:PORT/earshot_test — the database exists and is empty. */
  url: string;
  port: number;
  /** The cluster's data directory (its server log is `<dataDir>/../postgres.log`). */
  dataDir: string;
  /** Stops the server and removes its files. Safe to call more than once. */
  stop(): Promise<void>;
}

export interface StartPostgresOptions {
  /** Name of the database to create; default `earshot_test`. */
  database?: string;
}

const DEFAULT_DATABASE = 'earshot_test';

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Path of a PostgreSQL server tool (pg_ctl, initdb): PATH first, then /usr/lib/postgresql/<newest>/bin. */
export function findPgTool(tool: 'pg_ctl' | 'initdb'): string {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && isExecutable(join(dir, tool))) return join(dir, tool);
  }
  let versions: string[] = [];
  try {
    versions = readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a));
  } catch {
    // not installed
  }
  for (const version of versions) {
    const candidate = join('/usr/lib/postgresql', version, 'bin', tool);
    if (isExecutable(candidate)) return candidate;
  }
  throw new Error(
    `${tool} not found on PATH or in /usr/lib/postgresql/*/bin; run: bash scripts/system-deps.sh`,
  );
}

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

function postgresUser(): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  const fields = line?.split(':');
  if (!fields || fields.length < 4) {
    throw new Error(
      'running as root, but there is no `postgres` user to run the cluster as (apt-get install postgresql)',
    );
  }
  return { uid: Number(fields[2]), gid: Number(fields[3]) };
}

function runuserPath(): string | undefined {
  return ['/usr/sbin/runuser', '/sbin/runuser', '/usr/bin/runuser'].find(isExecutable);
}

function shellQuote(arg: string): string {
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** The command line that runs `argv` as the cluster owner: as-is, or via runuser/su when root. */
function asOwner(argv: string[]): [string, string[]] {
  const [cmd, ...args] = argv;
  if (cmd === undefined) throw new Error('asOwner: empty command');
  if (!isRoot) return [cmd, args];
  const runuser = runuserPath();
  if (runuser) return [runuser, ['-u', 'postgres', '--', cmd, ...args]];
  return ['su', ['postgres', '-s', '/bin/sh', '-c', argv.map(shellQuote).join(' ')]];
}

function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, LC_ALL: 'C', LANG: 'C' };
  for (const key of Object.keys(env)) {
    if (key.startsWith('PG')) delete env[key];
  }
  return env;
}

function run(argv: string[], cwd: string, timeoutMs = 120_000): Promise<string> {
  const [cmd, args] = asOwner(argv);
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd, env: cleanEnv(), timeout: timeoutMs }, (err, stdout, stderr) => {
      if (err) {
        reject(new Error(`${argv.join(' ')} failed: ${err.message}\n${stdout}${stderr}`.trim()));
      } else {
        resolve(stdout);
      }
    });
  });
}

function urlFor(port: number, database: string): string {
  return `postgres://postgres@127.0.0.1:${port}/${database}`;
}

function assertIdentifier(name: string): void {
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(name)) {
    throw new Error(`invalid database name ${JSON.stringify(name)} (letters, digits, _; max 63)`);
  }
}

/** Clusters started by this process, stopped on exit should a test forget (or crash before) stop(). */
const running = new Map<string, string>(); // dataDir -> pg_ctl
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const [dataDir, pgCtl] of running) {
      const [cmd, args] = asOwner([pgCtl, '-D', dataDir, '-m', 'immediate', '-w', 'stop']);
      spawnSync(cmd, args, { stdio: 'ignore', env: cleanEnv(), timeout: 10_000 });
      rmSync(dirname(dataDir), { recursive: true, force: true });
    }
  });
}

/**
 * Starts a private PostgreSQL server on 127.0.0.1 and creates one database in it.
 * Takes ~2–4 s. Call stop() when done (global teardown / afterAll).
 */
export async function startPostgres(options: StartPostgresOptions = {}): Promise<RunningPostgres> {
  const database = options.database ?? DEFAULT_DATABASE;
  assertIdentifier(database);
  const pgCtl = findPgTool('pg_ctl');
  const initdb = findPgTool('initdb');

  const tmp = await tempDir('pg');
  const dataDir = join(tmp.path, 'data');
  const logFile = join(tmp.path, 'postgres.log');
  if (isRoot) {
    const { uid, gid } = postgresUser();
    chownSync(tmp.path, uid, gid);
    chmodSync(tmp.path, 0o700);
  }

  try {
    await run(
      [initdb, '-D', dataDir, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--locale=C', '--no-sync'],
      tmp.path,
    );

    let lastError: unknown;
    for (let attempt = 0; attempt < 5; attempt++) {
      const port = await freePort();
      const serverOptions = [
        `-p ${port}`,
        `-k ${tmp.path}`,
        '-c listen_addresses=127.0.0.1',
        '-c fsync=off',
        '-c synchronous_commit=off',
        '-c full_page_writes=off',
        '-c max_connections=200',
      ].join(' ');
      try {
        await run(
          [pgCtl, '-D', dataDir, '-l', logFile, '-w', '-t', '60', '-o', serverOptions, 'start'],
          tmp.path,
        );
      } catch (err) {
        // Most likely the port was taken between freePort() and bind; try another one.
        lastError = err;
        continue;
      }
      running.set(dataDir, pgCtl);
      installExitHook();

      let stopped = false;
      const stop = async (): Promise<void> => {
        if (stopped) return;
        stopped = true;
        try {
          await run([pgCtl, '-D', dataDir, '-m', 'fast', '-w', '-t', '60', 'stop'], tmp.path);
        } finally {
          running.delete(dataDir);
          await tmp.cleanup();
        }
      };

      try {
        await createDatabase(urlFor(port, 'postgres'), database);
      } catch (err) {
        await stop();
        throw err;
      }
      return { url: urlFor(port, database), port, dataDir, stop };
    }
    let log = '';
    try {
      log = readFileSync(logFile, 'utf8');
    } catch {
      // no log
    }
    throw new Error(`could not start PostgreSQL: ${String(lastError)}\n${log}`.trim());
  } catch (err) {
    await rm(tmp.path, { recursive: true, force: true });
    throw err;
  }
}

/** `baseUrl` with its database (path) replaced by `name`. */
export function databaseUrl(baseUrl: string, name: string): string {
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/**
 * (Re)creates database `name` on the server of `baseUrl` (dropping any existing one of that name)
 * and returns its URL. Use one per test file, e.g. `createDatabase(inject('pgBaseUrl'), uniqueDatabaseName('jobs'))`.
 */
export async function createDatabase(baseUrl: string, name: string): Promise<string> {
  assertIdentifier(name);
  const client = new pg.Client({ connectionString: databaseUrl(baseUrl, 'postgres') });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await client.query(`CREATE DATABASE "${name}" TEMPLATE template0 ENCODING 'UTF8'`);
  } finally {
    await client.end();
  }
  return databaseUrl(baseUrl, name);
}

/** Drops database `name` on the server of `baseUrl`, closing its connections. */
export async function dropDatabase(baseUrl: string, name: string): Promise<void> {
  assertIdentifier(name);
  const client = new pg.Client({ connectionString: databaseUrl(baseUrl, 'postgres') });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

let counter = 0;
/** A database name unlikely to collide across files and workers: `<prefix>_<pid>_<n>_<random>`. */
export function uniqueDatabaseName(prefix = 'test'): string {
  counter += 1;
  const safe = prefix
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, '_')
    .slice(0, 30);
  return `${safe}_${process.pid}_${counter}_${Math.random().toString(36).slice(2, 8)}`;
}
