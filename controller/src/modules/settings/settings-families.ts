/**
 * The settings families the controller offers: each a body schema, its defaults and the rules
 * the schema cannot say. Nodes name the recording profile and the watchdog policy their agents
 * apply (`nodeSetting`): those nodes are the objects' users. Upload providers and policies are in
 * upload-families.ts; retention policies name upload providers by id (`references`).
 */
import Type from 'typebox';
import { DEFAULT_WATCHDOG_THRESHOLDS } from '../../../../shared/src/watchdog.js';
import { family, type SettingsFamily } from './settings-family.js';
import { uploadPolicies, uploadProviders } from './upload-families.js';

const Seconds = (maximum: number, description: string) => Type.Integer({ minimum: 0, maximum, description });
const nullable = <T extends ReturnType<typeof Type.Integer>>(schema: T) => Type.Union([schema, Type.Null()]);

export const RecordingProfileBody = Type.Object(
  {
    container: Type.Enum(['wav', 'flac'], { description: 'WAV (PCM) or FLAC' }),
    sampleRate: Type.Enum([8000, 16000, 22050, 32000, 44100, 48000, 88200, 96000, 176400, 192000]),
    bitDepth: Type.Enum([16, 24]),
    channels: nullable(
      Type.Integer({ minimum: 1, maximum: 64, description: 'The first N capture channels; null: all' }),
    ),
    channelMap: Type.Union(
      [
        Type.Array(Type.Integer({ minimum: 1, maximum: 64 }), {
          minItems: 1,
          maxItems: 64,
          description: '1-based capture channels, in output order',
        }),
        Type.Null(),
      ],
      { description: 'Instead of channels: which capture channels, in which order' },
    ),
    segmentSeconds: nullable(
      Type.Integer({ minimum: 60, maximum: 86_400, description: 'Split long recordings; null: one file' }),
    ),
    preRollSeconds: Seconds(3600, 'Recorded before the planned start'),
    postRollSeconds: Seconds(3600, 'Recorded after the planned end'),
  },
  { additionalProperties: false },
);

export const WatchdogPolicyBody = Type.Object(
  {
    silenceDbfs: Type.Number({ minimum: -120, maximum: 0, description: 'Below this level is silence' }),
    silenceSeconds: Type.Integer({ minimum: 1, maximum: 86_400 }),
    clipCountPerWindow: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
    clipWindowSeconds: Type.Integer({ minimum: 1, maximum: 86_400 }),
    diskLowPercent: Type.Integer({ minimum: 0, maximum: 100 }),
    diskLowHours: Type.Number({ minimum: 0, maximum: 8760, description: 'Hours of recording headroom' }),
    clockSkewSeconds: Type.Number({ minimum: 0, maximum: 3600 }),
    uploadBacklogMinutes: Type.Integer({ minimum: 1, maximum: 525_600 }),
  },
  { additionalProperties: false },
);

export const RetentionPolicyBody = Type.Object(
  {
    scope: Type.Enum(['controller', 'agent-cache'], { description: 'The controller store or agent caches' }),
    maxAgeDays: nullable(Type.Integer({ minimum: 1, maximum: 36_500 })),
    maxBytes: nullable(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER })),
    minFreeDiskPercent: nullable(Type.Integer({ minimum: 1, maximum: 99 })),
    deleteOnlyAfterVerifiedUploadTo: Type.Array(Type.String({ format: 'uuid' }), {
      maxItems: 20,
      description: 'Upload providers (their ids); empty: no upload is waited for',
    }),
    keepTagged: Type.Boolean({ description: 'Never delete tagged recordings' }),
  },
  { additionalProperties: false },
);

const duplicates = (values: readonly unknown[]) => values.filter((v, i) => values.indexOf(v) !== i);

/** The highest capture channel a recording profile records; null when it takes whatever there is. */
export function highestProfileChannel(body: { channels: number | null; channelMap: number[] | null }) {
  return body.channelMap ? Math.max(...body.channelMap) : body.channels;
}

/**
 * Why a profile does not fit a node that captures `channels` channels, or null when it does: the
 * agent would record only the channels it has, and the others would be lost without a sign.
 */
export function profileMisfit(
  body: { channels: number | null; channelMap: number[] | null },
  node: { id: string; channels: number },
): string | null {
  const highest = highestProfileChannel(body);
  if (highest === null || highest <= node.channels) return null;
  return `it records capture channel ${highest}, but node ${node.id} captures ${node.channels}`;
}

export const recordingProfiles = family({
  name: 'recording-profiles',
  title: 'recording profile',
  body: RecordingProfileBody,
  nodeSetting: 'recordingProfileId',
  defaults: {
    container: 'wav',
    sampleRate: 48000,
    bitDepth: 16,
    channels: null,
    channelMap: null,
    segmentSeconds: null,
    preRollSeconds: 0,
    postRollSeconds: 0,
  },
  rules: (body) => [
    ...(body.channels !== null && body.channelMap !== null ? ['set channels or channelMap, not both'] : []),
    ...(body.channelMap && duplicates(body.channelMap).length > 0
      ? [`channelMap names channel ${duplicates(body.channelMap)[0]} twice`]
      : []),
  ],
  // A change must still fit every node that uses the profile.
  check: async (object, db) => {
    if (object.id === null) return [];
    const nodes = await db.node.findMany({
      where: { recordingProfileId: object.id },
      select: { id: true, channels: true },
      orderBy: { id: 'asc' },
    });
    return nodes.flatMap((node) => profileMisfit(object.body, node) ?? []);
  },
});

export const watchdogPolicies = family({
  name: 'watchdog-policies',
  title: 'watchdog policy',
  body: WatchdogPolicyBody,
  nodeSetting: 'watchdogPolicyId',
  // What an agent checks when its node has no policy, too.
  defaults: DEFAULT_WATCHDOG_THRESHOLDS,
});

export const retentionPolicies = family({
  name: 'retention-policies',
  title: 'retention policy',
  body: RetentionPolicyBody,
  defaults: {
    scope: 'controller',
    maxAgeDays: 90,
    maxBytes: null,
    minFreeDiskPercent: null,
    deleteOnlyAfterVerifiedUploadTo: [],
    keepTagged: true,
  },
  rules: (body) => [
    ...(body.maxAgeDays === null && body.maxBytes === null && body.minFreeDiskPercent === null
      ? ['set at least one limit: maxAgeDays, maxBytes or minFreeDiskPercent']
      : []),
    // An agent removes only copies the controller confirmed; it cannot see provider copies.
    ...(body.scope === 'agent-cache' && body.deleteOnlyAfterVerifiedUploadTo.length > 0
      ? [
          'deleteOnlyAfterVerifiedUploadTo applies to controller policies: an agent-cache policy removes ' +
            "only copies the controller has confirmed (wait for providers with a 'controller' policy)",
        ]
      : []),
    ...duplicates(body.deleteOnlyAfterVerifiedUploadTo).map(
      (id) => `deleteOnlyAfterVerifiedUploadTo names "${id}" twice`,
    ),
  ],
  references: [{ field: 'deleteOnlyAfterVerifiedUploadTo', family: 'upload-providers' }],
  // Agent-cache policies reach every agent with its config (nodes' NodeSettings.forAgent).
  everyAgent: (body) => body.scope === 'agent-cache',
});

/** The built-in families, in the order their routes register. */
export const SETTINGS_FAMILIES: readonly SettingsFamily[] = [
  recordingProfiles,
  watchdogPolicies,
  retentionPolicies,
  uploadProviders,
  uploadPolicies,
];
