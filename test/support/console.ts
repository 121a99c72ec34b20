/**
 * Console test parts, shared by every `test/integration/console-*.test.ts`: one Vite build of
 * `controller/console/` per change of its sources (kept in the temp directory under a hash of
 * them, so parallel files and later runs reuse it), Debian's Chromium driven by playwright-core,
 * signing in as a page would (`signIn`), and a page already signed in (`signedInPage`). Each file starts its own controller (`testController` with
 * `{ consoleDir: await builtConsole() }`) and its own browser (in the console project, its own
 * contexts in the worker's one Chromium).
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { inject } from 'vitest';
import { OWNER } from './controller.js';

const CONSOLE_DIR = fileURLToPath(new URL('../../controller/console/', import.meta.url));
const VITE_CONFIG = join(CONSOLE_DIR, 'vite.config.ts');
/** Sources that change the build: the console's own, and shared/ (which pages may import). */
const SOURCE_DIRS = [CONSOLE_DIR, fileURLToPath(new URL('../../shared/src/', import.meta.url))];

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
}

async function sourceHash(): Promise<string> {
  const hash = createHash('sha256');
  for (const dir of SOURCE_DIRS)
    for (const file of await filesUnder(dir)) {
      hash.update(relative(dir, file));
      hash.update(await readFile(file));
    }
  return hash.digest('hex').slice(0, 16);
}

let building: Promise<string> | undefined;

/**
 * The directory of a build of the current console sources: built once (into a private
 * directory, then renamed into place, so a file running beside this one never sees half a
 * build), and reused while the sources stay the same.
 */
export function builtConsole(): Promise<string> {
  building ??= (async () => {
    const target = join(tmpdir(), `earshot-console-build-${await sourceHash()}`);
    if (await stat(join(target, 'index.html')).catch(() => undefined)) return target;
    const outDir = await mkdtemp(join(tmpdir(), 'earshot-console-building-'));
    // Vite is loaded only to build (a reused build does not pay for its import).
    const { build } = await import('vite');
    await build({ configFile: VITE_CONFIG, logLevel: 'silent', build: { outDir, emptyOutDir: true } });
    try {
      await rename(outDir, target);
    } catch {
      // Another file put the same build in place first.
      await rm(outDir, { recursive: true, force: true });
    }
    return target;
  })();
  return building;
}

declare module 'vitest' {
  export interface ProvidedContext {
    /**
     * The console project's (vitest.config.ts): its files share a worker's modules, so they
     * share the worker's Chromium too (launchChromium).
     */
    shareChromium: boolean;
  }
}

/**
 * Debian's Chromium (`.ci/run` installs it). Audio may start without a gesture (the Listen page's
 * tests play what a node streams), so every file can share one.
 */
const CHROMIUM_OPTIONS = {
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--autoplay-policy=no-user-gesture-required'],
};

/** The worker's Chromium when its files share one (launched by the first file that asks). */
let workerChromium: Promise<Browser> | undefined;

/**
 * A browser for one file. In the console project (`shareChromium`): the worker's one Chromium,
 * as the file sees it: its `close()` closes the contexts the file opened (and their pages),
 * not the browser, which saves a launch per file (about a second here). Playwright kills it
 * when the worker exits. Elsewhere (and outside vitest: the benchmarks run under tsx),
 * Chromium launched for the caller.
 */
export async function launchChromium(): Promise<Browser> {
  if (!(process.env.VITEST && inject('shareChromium'))) return chromium.launch(CHROMIUM_OPTIONS);
  // Launched again if it went away (a crash in an earlier file).
  if (!workerChromium || !(await workerChromium).isConnected())
    workerChromium = chromium.launch(CHROMIUM_OPTIONS);
  return fileView(await workerChromium);
}

/** The shared browser with contexts of its own: `close()` closes those (and what is in them). */
function fileView(browser: Browser): Browser {
  const contexts = new Set<BrowserContext>();
  const newContext: Browser['newContext'] = async (options) => {
    const context = await browser.newContext(options);
    contexts.add(context);
    context.once('close', () => contexts.delete(context));
    return context;
  };
  const own: Partial<Browser> = {
    newContext,
    newPage: async (options) => (await newContext(options)).newPage(),
    contexts: () => [...contexts],
    close: async () => {
      await Promise.all([...contexts].map((context) => context.close()));
    },
  };
  return new Proxy(browser, {
    get: (target, key, receiver) =>
      key in own ? own[key as keyof Browser] : Reflect.get(target, key, receiver),
  });
}

/** Fills in the sign-in page as a person would (the owner unless told otherwise). */
export async function signIn(page: Page, user = OWNER.username, password = OWNER.password): Promise<void> {
  await page.getByLabel('Username').fill(user);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/**
 * A new page (own context) signed in at `url + path`; collects Content-Security-Policy violations.
 * Signed in through the API in the page's context (`POST /auth/login`: its session cookie), then
 * the page opened where it is wanted: the sign-in form itself is tested with `signIn` (the
 * accessibility tier, and console.test.ts in the integration tier); filling it for every page
 * cost each a load of the sign-in page. `fakeClock`: the context's clock is Playwright's from the
 * first load (flowing with real time until the test moves it: `page.clock.fastForward`), for a
 * test that waits on the page's timers.
 */
export async function signedInPage(
  browser: Browser,
  url: string,
  path = '/',
  user?: { username: string; password: string },
  options: { fakeClock?: boolean } = {},
): Promise<{ page: Page; cspViolations: string[] }> {
  const context = await browser.newContext();
  if (options.fakeClock) await context.clock.install();
  const login = await context.request.post(`${url}/api/v1/auth/login`, {
    data: { username: user?.username ?? OWNER.username, password: user?.password ?? OWNER.password },
  });
  if (!login.ok()) throw new Error(`sign-in refused: ${login.status()} ${await login.text()}`);
  const page = await context.newPage();
  const cspViolations: string[] = [];
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) cspViolations.push(message.text());
  });
  await page.goto(`${url}${path}`);
  await page.getByRole('navigation', { name: 'Main' }).waitFor();
  return { page, cspViolations };
}
