/**
 * The operator console (`controller/console/`, built by Vite into `dist/console/`), served at
 * `/` (console.routes.ts). The built controller finds it beside itself (`dist/console` from
 * `dist/controller/src/modules/console`), a run from sources in the repository's `dist/`.
 */
import { fileURLToPath } from 'node:url';
import type { AppModule } from '../../platform/module.js';
import { consoleRoutes } from './console.routes.js';

export { CONSOLE_CSP } from './console.routes.js';

/** Where the console's build is: `dir` when given (tests), else beside the running controller. */
export function consoleDir(dir?: string): string {
  if (dir) return dir;
  const built = import.meta.url.includes('/dist/controller/');
  return fileURLToPath(
    new URL(built ? '../../../../console/' : '../../../../dist/console/', import.meta.url),
  );
}

export function createConsoleModule(options: { dir?: string } = {}): AppModule {
  return { name: 'console', rootRoutes: [consoleRoutes(consoleDir(options.dir))], ports: {} };
}
