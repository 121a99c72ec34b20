/**
 * Demo data (seed and reset) for trying the console: its routes exist only outside production
 * mode; in production the module has none (404, and absent from the OpenAPI document).
 */
import type { AppModule, ModuleCore } from '../../platform/module.js';
import { DemoRepository } from './demo.repository.js';
import { demoRoutes } from './demo.routes.js';
import { DemoService } from './demo.service.js';

export function createDemoModule(core: ModuleCore): AppModule {
  if (core.config.production) return { name: 'demo', ports: {} };
  const { db, audit, ops, now } = core;
  const demo = new DemoService({ db, repo: new DemoRepository(), audit, ops, now });
  return { name: 'demo', routes: [demoRoutes(demo)], ports: {} };
}
