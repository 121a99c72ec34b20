/**
 * The built controller as a process, for end-to-end tests: free ports and its
 * environment, start-up until `/readyz` answers, the JSON API over HTTP, and the owner's
 * first sign-in.
 */
import { freePort } from './ports.js';
import { CONTROLLER_CLI, type RunningProcess, startProcess, waitFor } from './processes.js';

export interface ControllerSetup {
  /** `http://127.0.0.1:<port>`, where the controller will listen. */
  base: string;
  env: Record<string, string | undefined>;
}

/**
 * Free HTTP and MQTT ports on 127.0.0.1 and the environment of one controller with its data
 * under `dataDir`, on SQLite unless `extra` names a `DATABASE_URL`; `extra` adds or overrides.
 */
export async function controllerSetup(
  dataDir: string,
  extra: Record<string, string | undefined> = {},
): Promise<ControllerSetup> {
  const httpPort = await freePort();
  const mqttPort = await freePort();
  return {
    base: `http://127.0.0.1:${httpPort}`,
    env: {
      EARSHOT_HTTP_PORT: String(httpPort),
      EARSHOT_HTTP_HOST: '127.0.0.1',
      EARSHOT_MQTT_PORT: String(mqttPort),
      EARSHOT_MQTT_HOST: '127.0.0.1',
      EARSHOT_DATA_DIR: dataDir,
      EARSHOT_LOG_LEVEL: 'info',
      DATABASE_URL: undefined,
      ...extra,
    },
  };
}

/** Waits until the controller at `base` answers `/readyz` with 200; `context` is printed if it never does. */
export async function controllerReady(
  name: string,
  base: string,
  timeoutMs: number,
  context?: () => string,
): Promise<void> {
  await waitFor(
    `${name} ready`,
    async () => ((await fetch(`${base}/readyz`)).ok ? true : undefined),
    timeoutMs,
    context,
  );
}

/**
 * Starts the built controller with `setup` and returns it once ready. `onSpawn` gets the
 * process at once, so a test's log dump can show it while start-up is awaited.
 */
export async function runController(
  setup: ControllerSetup,
  options: { timeoutMs?: number; context?: () => string; onSpawn?: (process: RunningProcess) => void } = {},
): Promise<RunningProcess> {
  const controller = startProcess('controller', [CONTROLLER_CLI], setup.env);
  options.onSpawn?.(controller);
  await controllerReady('controller', setup.base, options.timeoutMs ?? 60_000, options.context);
  return controller;
}

/** A JSON request to `base + path`, as `token` when given; returns the response's `data`, throws on an error status. */
export async function fetchData<T = Record<string, unknown>>(
  base: string,
  path: string,
  token: string | undefined,
  init: RequestInit = {},
): Promise<T> {
  const response = await fetch(`${base}${path}`, {
    ...init,
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...init.headers,
    },
  });
  const body = (await response.json()) as { data: T };
  if (!response.ok) throw new Error(`${path}: ${response.status} ${JSON.stringify(body)}`);
  return body.data;
}

/** First-run setup of `owner` on a fresh controller, then its sign-in; returns the session token. */
export async function setUpOwner(
  base: string,
  owner: { username: string; password: string },
): Promise<string> {
  await fetchData(base, '/api/v1/setup', undefined, { method: 'POST', body: JSON.stringify(owner) });
  const login = await fetchData<{ token: string }>(base, '/api/v1/auth/login', undefined, {
    method: 'POST',
    body: JSON.stringify(owner),
  });
  return login.token;
}
