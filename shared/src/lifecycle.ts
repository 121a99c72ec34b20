/**
 * Node lifecycle actions: what an operator may ask a node's agent to do (an allowlist both
 * programs check: the controller refuses anything else at the route, the agent anything else
 * on its `cmd` topic), and how long each request stays worth delivering.
 *
 * Delivery: the controller sends `{ id: <lifecycle job id>, type: 'lifecycle', args: { action } }`
 * on the node's `cmd` topic (QoS 1) when the agent is online, or when it comes back before the
 * action expires; the agent answers on `cmd-result` with the same id.
 */
import Type, { type Static } from 'typebox';

export const LIFECYCLE_ACTIONS = [
  'restart-agent',
  'restart-capture',
  'reload-config',
  'rotate-credential',
  'upload-now',
  'collect-diagnostics',
] as const;
export type LifecycleAction = (typeof LIFECYCLE_ACTIONS)[number];

export function isLifecycleAction(value: unknown): value is LifecycleAction {
  return (LIFECYCLE_ACTIONS as readonly unknown[]).includes(value);
}

/**
 * How long a request waits for an offline agent: past this it is not sent (timed out). A
 * restart asked an hour ago is not what anyone wants when the node returns; a credential
 * rotation or diagnostics still are, for a day.
 */
export const LIFECYCLE_EXPIRY_SECONDS: Record<LifecycleAction, number> = {
  'restart-agent': 10 * 60,
  'restart-capture': 10 * 60,
  'reload-config': 60 * 60,
  'rotate-credential': 24 * 60 * 60,
  'upload-now': 60 * 60,
  'collect-diagnostics': 24 * 60 * 60,
};

/** Once sent, how long the agent has to answer before the job is timed out. */
export const LIFECYCLE_ANSWER_SECONDS = 120;

export const LIFECYCLE_JOB_STATES = ['queued', 'sent', 'succeeded', 'failed', 'timed_out'] as const;
export type LifecycleJobState = (typeof LIFECYCLE_JOB_STATES)[number];

/** What collect-diagnostics uploads (PUT AGENT_ROUTES.lifecycleDiagnostics), at most this big. */
export const DIAGNOSTICS_MAX_BYTES = 1024 * 1024;

export const Diagnostics = Type.Object(
  {
    agentVersion: Type.String({ maxLength: 100 }),
    collectedAt: Type.String({ format: 'date-time' }),
    /** The node config the agent runs with (it carries no secret). */
    config: Type.Unknown(),
    /** The agent's last log lines, newest last, secrets removed. */
    logLines: Type.Array(Type.String({ maxLength: 4000 }), { maxItems: 500 }),
    /** The capture devices the agent finds now. */
    devices: Type.Array(Type.Unknown(), { maxItems: 256 }),
    capture: Type.Object({ device: Type.String(), state: Type.String() }),
    disk: Type.Object({ freeBytes: Type.Number(), totalBytes: Type.Number() }),
    /** Recordings waiting to be uploaded. */
    pendingUploads: Type.Integer({ minimum: 0 }),
  },
  { additionalProperties: false },
);
export type Diagnostics = Static<typeof Diagnostics>;

export const RotatedCredential = Type.Object({
  /** Shown once. It replaces the old one the first time the agent uses it. */
  credential: Type.String(),
});
export type RotatedCredential = Static<typeof RotatedCredential>;
