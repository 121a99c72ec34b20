/**
 * The settings objects a node names (its recording profile and watchdog policy, from the settings
 * module): checked to exist when an operator assigns one, and resolved into the agent's config,
 * where a profile also sets the capture's sample rate and bit depth.
 */
import type { RecordingProfileConfig, WatchdogPolicyConfig } from '../../../../shared/src/agent-api.js';
import { badRequest } from '../../core/errors.js';
import type { NodeSettingColumn } from '../settings/index.js';

/** What the nodes module reads of the settings module. */
export interface SettingsReader {
  current(
    familyName: string,
    id: string,
  ): Promise<{ id: string; name: string; revision: number; body: Record<string, unknown> } | undefined>;
}

/** The node columns naming a settings object, and the family each names. */
export const NODE_SETTING_FAMILIES = {
  recordingProfileId: { family: 'recording-profiles', title: 'recording profile' },
  watchdogPolicyId: { family: 'watchdog-policies', title: 'watchdog policy' },
} as const satisfies Record<NodeSettingColumn, { family: string; title: string }>;

type Assigned = Partial<Record<NodeSettingColumn, string | null>>;

export class NodeSettings {
  constructor(private readonly reader?: SettingsReader) {}

  /** Throws a 400 naming the first assigned id that is not an object of its family. */
  async check(assigned: Assigned): Promise<void> {
    for (const [column, { family, title }] of Object.entries(NODE_SETTING_FAMILIES)) {
      const id = assigned[column as NodeSettingColumn];
      if (id === undefined || id === null) continue;
      if (!(await this.reader?.current(family, id)))
        throw badRequest(
          `${column}: there is no ${title} with id "${id}" (list them at /api/v1/settings/${family}).`,
          {
            field: column,
          },
        );
    }
  }

  /** The node's profile and policy as its agent applies them; null where none is assigned. */
  async forAgent(node: Record<NodeSettingColumn, string | null>): Promise<{
    recordingProfile: RecordingProfileConfig | null;
    watchdogPolicy: WatchdogPolicyConfig | null;
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
    };
  }
}
