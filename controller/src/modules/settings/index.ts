/**
 * Settings families (recording profiles, watchdog policies, retention policies): fleet-wide
 * named objects with history and rollback, one generic implementation driven by each family's
 * definition (settings-family.ts). Adding a family is a definition in settings-families.ts.
 */
import type { AppModule, ModuleCore } from '../../platform/module.js';
import { SettingsRepository } from './settings.repository.js';
import { settingsRoutes } from './settings.routes.js';
import { SettingsService } from './settings.service.js';
import { SETTINGS_FAMILIES } from './settings-families.js';
import type { SettingsFamily } from './settings-family.js';

export type { SettingsFamily, SettingsObjectOf, SettingsUser } from './settings-family.js';
export { family as settingsFamily } from './settings-family.js';
export type { SettingsService };

/** `extraFamilies`: families beyond the built-in ones (tests add one with an in-use check). */
export function createSettingsModule(
  core: ModuleCore,
  extraFamilies: readonly SettingsFamily[] = [],
): AppModule<{ settings: SettingsService }> {
  const { db, audit, now } = core;
  const families = [...SETTINGS_FAMILIES, ...extraFamilies];
  for (const [i, f] of families.entries()) {
    if (!/^[a-z][a-z0-9-]*$/.test(f.name) || families.findIndex((g) => g.name === f.name) !== i)
      throw new Error(`settings family "${f.name}": a unique lower-case URL segment is needed`);
  }
  const settings = new SettingsService({ db, repo: new SettingsRepository(db), audit, now, families });
  return { name: 'settings', routes: [settingsRoutes(settings)], ports: { settings } };
}
