/**
 * The settings objects a node names (its recording profile and watchdog policy, from the settings
 * module): checked to exist when an operator assigns one, and resolved into the agent's config,
 * where a profile also sets the capture's sample rate and bit depth.
 */
import type {
  CacheRetentionPolicy,
  RecordingProfileConfig,
  WatchdogPolicyConfig,
} from '../../../../shared/src/agent-api.js';
import { badRequest } from '../../core/errors.js';
import { type NodeSettingColumn, profileMisfit } from '../settings/index.js';

/** What the nodes module reads of the settings module. */
export interface SettingsReader {
  current(familyName: string, id: string): Promise<SettingsObject | undefined>;
  /** Every object of a family (the agent-cache retention policies every agent applies). */
  all(familyName: string): Promise<SettingsObject[]>;
}

type SettingsObject = { id: string; name: string; revision: number; body: Record<string, unknown> };

/** The node columns naming a settings object, and the family each names. */
export const NODE_SETTING_FAMILIES = {
  recordingProfileId: { family: 'recording-profiles', title: 'recording profile' },
  watchdogPolicyId: { family: 'watchdog-policies', title: 'watchdog policy' },
} as const satisfies Record<NodeSettingColumn, { family: string; title: string }>;

type Assigned = Partial<Record<NodeSettingColumn, string | null>>;

export class NodeSettings {
  constructor(private readonly reader?: SettingsReader) {}

  /**
   * Throws a 400 naming the first assigned id that is not an object of its family, or a recording
   * profile that records a capture channel `node` does not have.
   */
  async check(assigned: Assigned, node?: { id: string; channels: number }): Promise<void> {
    for (const [column, { family, title }] of Object.entries(NODE_SETTING_FAMILIES)) {
      const id = assigned[column as NodeSettingColumn];
      if (id === undefined || id === null) continue;
      const object = await this.reader?.current(family, id);
      if (!object)
        throw badRequest(
          `${column}: there is no ${title} with id "${id}" (list them at /api/v1/settings/${family}).`,
          {
            field: column,
          },
        );
      const misfit =
        column === 'recordingProfileId' && node
          ? profileMisfit(object.body as Parameters<typeof profileMisfit>[0], node)
          : null;
      if (misfit)
        throw badRequest(`${column}: the ${title} "${object.name}" does not fit this node: ${misfit}.`, {
          field: column,
        });
    }
  }

  /**
   * The node's profile and policy as its agent applies them (null where none is assigned), and
   * the agent-cache retention policies, which apply to every agent.
   */
  async forAgent(node: Record<NodeSettingColumn, string | null>): Promise<{
    recordingProfile: RecordingProfileConfig | null;
    watchdogPolicy: WatchdogPolicyConfig | null;
    cacheRetention: CacheRetentionPolicy[];
  }> {
    const [recordingProfile, watchdogPolicy] = await Promise.all(
      (Object.keys(NODE_SETTING_FAMILIES) as NodeSettingColumn[]).map(async (column) => {
        const id = node[column];
        const object = id ? await this.reader?.current(NODE_SETTING_FAMILIES[column].family, id) : undefined;
        return object
          ? { id: object.id, name: object.name, revision: object.revision, ...object.body }
          : null;
      }),
    );
    return {
      recordingProfile: (recordingProfile ?? null) as RecordingProfileConfig | null,
      watchdogPolicy: (watchdogPolicy ?? null) as WatchdogPolicyConfig | null,
      cacheRetention: await this.cacheRetention(),
    };
  }

  private async cacheRetention(): Promise<CacheRetentionPolicy[]> {
    const policies = (await this.reader?.all('retention-policies')) ?? [];
    return policies
      .filter((p) => p.body.scope === 'agent-cache')
      .map(({ id, name, revision, body }) => ({
        id,
        name,
        revision,
        maxAgeDays: body.maxAgeDays as number | null,
        maxBytes: body.maxBytes as number | null,
        minFreeDiskPercent: body.minFreeDiskPercent as number | null,
      }));
  }
}
