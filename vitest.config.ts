import { availableParallelism } from 'node:os';
import { configDefaults, defineConfig } from 'vitest/config';

/** The console's browser tier (console.test.ts, the shell and sign-in, stays in integration). */
const CONSOLE_TIER = 'test/integration/console-*.test.ts';

/**
 * expect.poll's default gives up after 1 s: too short for a loaded 2-core CI machine, where a
 * page's load, its list request and render, or a write after an MQTT message, can take longer.
 * A wait that succeeds returns as soon as it does; only a failing one waits this long.
 */
const EXPECT = { poll: { timeout: 10_000 } };

// Tiers (STYLE.md): unit = pure logic; integration = real Fastify, database, broker;
// e2e = the built programs as processes. Benchmarks live in test/bench and are not tests.
export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'], testTimeout: 10_000, expect: EXPECT } },
      {
        test: {
          name: 'integration',
          expect: EXPECT,
          include: ['test/integration/**/*.test.ts'],
          exclude: [...configDefaults.exclude, CONSOLE_TIER],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          globalSetup: ['test/support/global-setup.ts'],
        },
      },
      {
        // The console's page-by-page browser tier: real Fastify, database and Chromium like the
        // integration tier, but its files share each worker's loaded modules (isolate: false):
        // each file imported the whole controller and playwright again, about a third of the
        // tier's time. Safe because the controller keeps no module state (invariants.test.ts)
        // and each file builds its own controller and browser contexts.
        // Two files at a time at least: a file spends much of its time waiting on Chromium and
        // the controller, so on a 2-core machine (where vitest's default is one worker, and the
        // files ran one after another) two workers took the tier from 155 s to 117 s, the
        // machine's load 7 to 10. Its own groupOrder: projects run together must share a worker
        // count within a group (so it runs after unit and integration).
        test: {
          name: 'console',
          expect: EXPECT,
          include: [CONSOLE_TIER],
          isolate: false,
          maxWorkers: Math.max(2, availableParallelism() - 1),
          sequence: { groupOrder: 1 },
          testTimeout: 60_000,
          hookTimeout: 120_000,
          globalSetup: ['test/support/global-setup.ts'],
          // Its files share a worker's Chromium (launchChromium in test/support/console.ts).
          provide: { shareChromium: true },
        },
      },
      {
        test: {
          name: 'e2e',
          expect: EXPECT,
          include: ['test/e2e/**/*.test.ts'],
          testTimeout: 180_000,
          hookTimeout: 180_000,
          fileParallelism: false,
          globalSetup: ['test/support/global-setup.ts'],
        },
      },
    ],
  },
});
