/**
 * Settings families (recording profiles, watchdog, retention and upload policies, upload
 * providers): fleet-wide named objects with history and rollback, one generic implementation
 * driven by each family's definition (settings-family.ts). Adding a family is a definition in
 * settings-families.ts.
 */
import type { NodeNotifier } from '../../core/node-commands.js';
import { controllerSecretBox } from '../../crypto/secret-box.js';
import type { AppModule, ModuleCore } from '../../platform/module.js';
import { SettingsRepository } from './settings.repository.js';
import { settingsRoutes } from './settings.routes.js';
import { SettingsService } from './settings.service.js';
import { SettingsCommands } from './settings-commands.js';
import { settingsCommandRoutes } from './settings-commands.routes.js';
import { SETTINGS_FAMILIES } from './settings-families.js';
import type { SettingsFamily } from './settings-family.js';
import { SettingsRevisions } from './settings-revisions.js';
import { SettingsSecrets } from './settings-secrets.js';

export { profileMisfit } from './settings-families.js';
export type { NodeSettingColumn, SettingsFamily, SettingsObjectOf, SettingsUser } from './settings-family.js';
export { family as settingsFamily } from './settings-family.js';
export type { RevisionAction, RevisionState } from './settings-revisions.js';
export { refuseAudited, SettingsRevisions } from './settings-revisions.js';
export { storeConfig as uploadProviderStoreConfig } from './upload-families.js';
export type { SettingsService };

/** Settings revisions (history) for settings kept outside the generic objects (channel-map assignments). */
export function createSettingsRevisions(core: Pick<ModuleCore, 'db' | 'now'>): SettingsRevisions {
  return new SettingsRevisions(new SettingsRepository(core.db), core.now);
}

/**
 * `notifyNode` nudges the agents of nodes using a changed object; `extraFamilies`: families
 * beyond the built-in ones (tests add one with an in-use check).
 */
export function createSettingsModule(
  core: ModuleCore,
  ports: { notifyNode?: NodeNotifier; extraFamilies?: readonly SettingsFamily[] } = {},
): AppModule<{ settings: SettingsService }> {
  const { db, audit, now, config } = core;
  const { notifyNode, extraFamilies = [] } = ports;
  const families = [...SETTINGS_FAMILIES, ...extraFamilies];
  for (const [i, f] of families.entries()) {
    if (!/^[a-z][a-z0-9-]*$/.test(f.name) || families.findIndex((g) => g.name === f.name) !== i)
      throw new Error(`settings family "${f.name}": a unique lower-case URL segment is needed`);
  }
  const repo = new SettingsRepository(db);
  const secrets = new SettingsSecrets(
    controllerSecretBox({ configuredKey: config.secretKey, dataDir: config.dataDir }),
  );
  const { changes } = core;
  const settings = new SettingsService({ db, repo, audit, now, families, notifyNode, secrets, changes });
  const commands = new SettingsCommands({ find: (f, id) => settings.find(f, id), secrets, audit });
  return {
    name: 'settings',
    routes: [settingsRoutes(settings), settingsCommandRoutes(families, commands)],
    ports: { settings },
  };
}
