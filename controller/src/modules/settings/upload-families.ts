/**
 * The upload settings families: upload providers (where verified recordings are copied: a
 * directory, or an S3-compatible bucket whose secret access key is sealed at rest and never
 * shown) and upload policies (which provider, when, how many attempts). The queue that uses them
 * comes later; here they validate, and a provider's `test` command writes, reads back and
 * deletes a probe object through the storage module's port.
 *
 * The access key id is not a secret (like a user name, it tells operators which credentials are
 * configured; S3 error messages name it too); the secret access key is.
 */
import { isAbsolute } from 'node:path';
import Type, { type Static } from 'typebox';
import type { Db } from '../../db/client.js';
import { type ObjectStoreConfig, objectStoreFor, probeObjectStore } from '../storage/index.js';
import { family, type SettingsCommandResult } from './settings-family.js';

const Nullable = <T extends ReturnType<typeof Type.String>>(schema: T) => Type.Union([schema, Type.Null()]);

/** Each probe step is bounded by this; a probe takes at most four of them. */
export const PROBE_STEP_TIMEOUT_MS = 10_000;

export const UploadProviderBody = Type.Object(
  {
    kind: Type.Enum(['filesystem', 's3'], { description: 'A directory, or an S3-compatible bucket' }),
    root: Nullable(
      Type.String({ minLength: 1, maxLength: 1024, description: 'filesystem: an absolute path' }),
    ),
    endpoint: Nullable(
      Type.String({ format: 'uri', maxLength: 2048, description: 's3: the endpoint URL; null: AWS' }),
    ),
    region: Nullable(Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9-]+$' })),
    bucket: Nullable(
      Type.String({
        minLength: 3,
        maxLength: 63,
        pattern: '^[a-z0-9][a-z0-9.-]*[a-z0-9]$',
        description: 's3',
      }),
    ),
    prefix: Type.String({ maxLength: 512, description: 's3: key prefix ("folder"); empty: none' }),
    forcePathStyle: Type.Boolean({ description: 's3: bucket in the path (MinIO, s3rver…)' }),
    accessKeyId: Nullable(Type.String({ minLength: 1, maxLength: 256, description: 's3; not a secret' })),
    secretAccessKey: Nullable(
      Type.String({
        minLength: 1,
        maxLength: 1024,
        description: 's3: sealed at rest and never shown (null, with secretAccessKeySet)',
      }),
    ),
  },
  { additionalProperties: false },
);
type UploadProvider = Static<typeof UploadProviderBody>;

export const UploadPolicyBody = Type.Object(
  {
    provider: Type.String({ format: 'uuid', description: 'The upload provider (its id)' }),
    trigger: Type.Enum(['on-complete', 'scheduled', 'manual'], {
      description: 'When a recording is queued: once verified, on a schedule, or by hand',
    }),
    maxAttempts: Type.Integer({ minimum: 1, maximum: 100 }),
    deleteCacheAfterVerifiedUpload: Type.Boolean({
      description: 'Delete the agent cache copy once the upload is verified',
    }),
  },
  { additionalProperties: false },
);

const S3_FIELDS = ['endpoint', 'region', 'bucket', 'accessKeyId', 'secretAccessKey'] as const;

const urlOf = (text: string) => {
  try {
    return new URL(text);
  } catch {
    return null;
  }
};

function providerRules(body: UploadProvider): string[] {
  if (body.kind === 'filesystem') {
    return [
      ...(body.root === null ? ['a filesystem provider needs a root directory'] : []),
      ...(body.root !== null && !isAbsolute(body.root)
        ? [`root must be an absolute path, not "${body.root}"`]
        : []),
      ...S3_FIELDS.filter((f) => body[f] !== null).map((f) => `${f} is for s3 providers (set it to null)`),
    ];
  }
  const endpoint = body.endpoint === null ? null : urlOf(body.endpoint);
  return [
    ...(body.root !== null ? ['root is for filesystem providers (set it to null)'] : []),
    ...(['region', 'bucket', 'accessKeyId', 'secretAccessKey'] as const)
      .filter((f) => body[f] === null)
      .map((f) => `an s3 provider needs ${f}`),
    ...(body.endpoint !== null && !['http:', 'https:'].includes(endpoint?.protocol ?? '')
      ? ['endpoint must be an http(s) URL']
      : []),
  ];
}

/** The store a valid provider body describes (its secret opened). */
export function storeConfig(body: UploadProvider): ObjectStoreConfig {
  if (body.kind === 'filesystem') return { kind: 'filesystem', root: body.root! };
  return {
    kind: 's3',
    endpoint: body.endpoint,
    region: body.region!,
    bucket: body.bucket!,
    prefix: body.prefix,
    forcePathStyle: body.forcePathStyle,
    accessKeyId: body.accessKeyId!,
    secretAccessKey: body.secretAccessKey!,
  };
}

const ProbeResult = Type.Object({
  ok: Type.Boolean(),
  location: Type.String({ description: 'Where the probe object was written' }),
  steps: Type.Array(
    Type.Object({
      step: Type.Enum(['write', 'read', 'compare', 'delete']),
      ok: Type.Boolean(),
      ms: Type.Integer({ description: 'How long the step took' }),
      error: Type.Optional(Type.String()),
    }),
  ),
});

/** Writes, reads back, compares and deletes a probe object; never throws for the store's errors. */
async function testProvider(body: UploadProvider): Promise<SettingsCommandResult> {
  let store: ReturnType<typeof objectStoreFor>;
  try {
    store = objectStoreFor(storeConfig(body), { timeoutMs: PROBE_STEP_TIMEOUT_MS });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { ok: false, location: '', steps: [{ step: 'write', ok: false, ms: 0, error: message }] };
  }
  try {
    return { ...(await probeObjectStore(store, { timeoutMs: PROBE_STEP_TIMEOUT_MS })) };
  } finally {
    store.close();
  }
}

/**
 * The recordings whose controller copy is gone (retention removed it) and whose only verified
 * copy is at `providerId` (copies at deleted providers do not count): the library can still
 * serve them from there, and from nowhere else.
 */
async function recordingsHeldOnlyAt(db: Db, providerId: string): Promise<{ id: string; title: string }[]> {
  const others = await db.settingsObject.findMany({
    where: { family: 'upload-providers', id: { not: providerId } },
    select: { id: true },
  });
  return db.recording.findMany({
    where: {
      filePath: null,
      uploads: { some: { providerId, state: 'verified' } },
      NOT: {
        uploads: { some: { providerId: { in: others.map((o) => o.id) }, state: 'verified' } },
      },
    },
    select: { id: true, title: true },
    orderBy: { id: 'asc' },
    take: 100,
  });
}

export const uploadProviders = family({
  name: 'upload-providers',
  title: 'upload provider',
  body: UploadProviderBody,
  defaults: {
    kind: 'filesystem',
    root: null,
    endpoint: null,
    region: null,
    bucket: null,
    prefix: '',
    forcePathStyle: false,
    accessKeyId: null,
    secretAccessKey: null,
  },
  rules: providerRules,
  // Deleting the provider would leave these recordings with no copy the product can reach.
  inUse: async (provider, db) =>
    (await recordingsHeldOnlyAt(db, provider.id)).map((r) => ({
      type: 'recording held only at this provider',
      id: r.id,
      name: r.title,
    })),
  secrets: ['secretAccessKey'],
  commands: [
    {
      name: 'test',
      summary: 'Test an upload provider: write a probe object, read it back, compare, delete it',
      action: 'settings.upload_provider_test',
      result: ProbeResult,
      run: (provider) => testProvider(provider.body),
      failure: (result) =>
        (result.steps as { step: string; error?: string }[])
          .filter((s) => s.error)
          .map((s) => `${s.step}: ${s.error}`)
          .join('; '),
    },
  ],
});

export const uploadPolicies = family({
  name: 'upload-policies',
  title: 'upload policy',
  body: UploadPolicyBody,
  defaults: { provider: '', trigger: 'on-complete', maxAttempts: 10, deleteCacheAfterVerifiedUpload: false },
  references: [{ field: 'provider', family: 'upload-providers' }],
});
