/**
 * The MQTT contract (docs/mqtt.md): one typed map from topic to payload schema, QoS and
 * retain flag. Both programs publish and dispatch through it; the broker's ACL
 * (see `aclFor`) sits beside it.
 */
import Type, { type Static, type TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import { HEALTH_EVENT_TYPES, HEALTH_SEVERITIES } from './health-kinds.js';
import { isValidNodeId, NODE_ID_PATTERN } from './ids.js';
import { decodeListenFrame, encodeListenFrame, type ListenFrame } from './listen.js';

export const TOPIC_ROOT = 'earshot/v1/nodes';

/** Largest MQTT payload any topic accepts; the broker refuses bigger packets. */
export const MAX_MQTT_PAYLOAD_BYTES = 64 * 1024;

/** Decibels are clamped to this floor so silence stays a finite JSON number. */
export const DBFS_FLOOR = -120;

const Dbfs = Type.Number({ minimum: DBFS_FLOOR, maximum: 20 });

/** Loudness (BS.1770-4 / EBU R128) of a meter frame (schema version 2), LUFS and dBTP. */
const Lufs = Type.Number({ minimum: DBFS_FLOOR, maximum: 20 });
const Loudness = {
  /** True peak since the previous frame (4× oversampled), dBTP. */
  truePeakDbtp: Type.Optional(Lufs),
  /** Loudness over the last 400 ms, LUFS. */
  momentaryLufs: Type.Optional(Lufs),
  /** Loudness over the last 3 s, LUFS. */
  shortTermLufs: Type.Optional(Lufs),
};

export const MeterChannel = Type.Object(
  {
    peakDbfs: Dbfs,
    rmsDbfs: Dbfs,
    clipCount: Type.Integer({ minimum: 0 }),
    ...Loudness,
  },
  { additionalProperties: false },
);

/** The meter frame's schema version this code writes; version 1 (no `v`, no loudness) is still read. */
export const METER_FRAME_VERSION = 2;

export const MeterFrame = Type.Object(
  {
    /** Schema version: absent in version 1 frames (older agents). */
    v: Type.Optional(Type.Integer({ minimum: 1, maximum: 2 })),
    /** Version 2: all channels together (each weighted as BS.1770-4 says). */
    programme: Type.Optional(Type.Object(Loudness, { additionalProperties: false })),
    seq: Type.Integer({ minimum: 0 }),
    /** Wall-clock time of the last sample in the window, ms since the epoch. */
    capturedAtMs: Type.Integer({ minimum: 0 }),
    windowMs: Type.Integer({ minimum: 1, maximum: 10_000 }),
    sampleRate: Type.Integer({ minimum: 1000, maximum: 384_000 }),
    channels: Type.Array(MeterChannel, { minItems: 1, maxItems: 64 }),
  },
  { additionalProperties: false },
);
export type MeterFrame = Static<typeof MeterFrame>;

export const NodeStatus = Type.Object(
  {
    state: Type.Enum(['online', 'offline']),
    agentVersion: Type.Optional(Type.String({ maxLength: 64 })),
    atMs: Type.Optional(Type.Integer({ minimum: 0 })),
  },
  { additionalProperties: false },
);
export type NodeStatus = Static<typeof NodeStatus>;

export {
  HEALTH_EVENT_TYPES,
  HEALTH_SEVERITIES,
  type HealthEventType,
  type HealthSeverity,
} from './health-kinds.js';

/** A health event's id: chosen by its reporter, stable across re-sends (same rule as node ids). */
export const HealthEventId = Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' });

/** Measured values of a condition, e.g. `{ "rmsDbfs": -71.5, "seconds": 60 }`. */
export const HealthValues = Type.Record(
  Type.String({ pattern: '^[A-Za-z][A-Za-z0-9_]{0,63}$' }),
  Type.Union([Type.Number(), Type.String({ maxLength: 200 }), Type.Boolean(), Type.Null()]),
  { maxProperties: 32, additionalProperties: false },
);

/**
 * One report of a condition the agent's watchdog watches (`events`, and the HTTP fallback
 * `POST /nodes/{id}/health-events`): sent when it starts, again while it lasts (count and last
 * seen grow), and once more when it clears (`state: resolved`). The controller keeps one event
 * per id: a re-send changes nothing, a later report updates it.
 */
export const HealthEventMessage = Type.Object(
  {
    id: HealthEventId,
    /** The reporting node; when present it must be the node of the topic (or the route). */
    nodeId: Type.Optional(Type.String({ pattern: NODE_ID_PATTERN })),
    type: Type.Enum(HEALTH_EVENT_TYPES),
    severity: Type.Enum(HEALTH_SEVERITIES),
    state: Type.Enum(['open', 'resolved']),
    /** 1-based capture channel; absent or null: the whole node. */
    channel: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 64 }), Type.Null()])),
    message: Type.String({ maxLength: 1000 }),
    values: Type.Optional(HealthValues),
    firstSeenAt: Type.String({ format: 'date-time' }),
    lastSeenAt: Type.String({ format: 'date-time' }),
    /** How many times the condition was seen (windows, restarts…). */
    count: Type.Integer({ minimum: 1, maximum: 1_000_000_000 }),
  },
  { additionalProperties: false },
);
export type HealthEventMessage = Static<typeof HealthEventMessage>;

export const CommandTypes = [
  'job-available',
  'config-changed',
  /** The node's scheduled occurrences changed: sync them now. */
  'schedule-changed',
  'listen-start',
  'listen-stop',
  'lifecycle',
  'job-stop',
] as const;
export const Command = Type.Object(
  {
    /** Correlation id; the result echoes it. */
    id: Type.String({ minLength: 1, maxLength: 64 }),
    type: Type.Enum(CommandTypes),
    args: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  { additionalProperties: false },
);
export type Command = Static<typeof Command>;

export const CommandResult = Type.Object(
  {
    id: Type.String({ minLength: 1, maxLength: 64 }),
    ok: Type.Boolean(),
    message: Type.Optional(Type.String({ maxLength: 1000 })),
  },
  { additionalProperties: false },
);
export type CommandResult = Static<typeof CommandResult>;

/** Who publishes on a topic: the agent of that node, or the controller. */
type Publisher = 'agent' | 'controller';

/** A topic whose payload is not JSON: its own reader and writer (the schema types the value). */
interface BinaryCodec<T> {
  decode(payload: Uint8Array): { ok: true; payload: T } | { ok: false; error: string };
  encode(value: T): Buffer;
}

interface TopicSpec<S extends TSchema> {
  schema: S;
  qos: 0 | 1;
  retain: boolean;
  publisher: Publisher;
  binary?: BinaryCodec<Static<S>>;
}

function topic<S extends TSchema>(spec: TopicSpec<S>): TopicSpec<S> {
  return spec;
}

export const TOPICS = {
  status: topic({ schema: NodeStatus, qos: 1, retain: true, publisher: 'agent' }),
  meters: topic({ schema: MeterFrame, qos: 0, retain: false, publisher: 'agent' }),
  events: topic({ schema: HealthEventMessage, qos: 1, retain: false, publisher: 'agent' }),
  cmd: topic({ schema: Command, qos: 1, retain: false, publisher: 'controller' }),
  'cmd-result': topic({ schema: CommandResult, qos: 1, retain: false, publisher: 'agent' }),
  /** Live listen: Opus frames (shared/src/listen.ts), only while the controller asks for them. */
  listen: topic({
    schema: Type.Unsafe<ListenFrame>({}),
    qos: 0,
    retain: false,
    publisher: 'agent',
    binary: { decode: decodeListenFrame, encode: encodeListenFrame },
  }),
} as const;

export type TopicName = keyof typeof TOPICS;
export type TopicPayload<T extends TopicName> = Static<(typeof TOPICS)[T]['schema']>;
export const TOPIC_NAMES = Object.keys(TOPICS) as TopicName[];

export function nodeTopic(nodeId: string, name: TopicName): string {
  if (!isValidNodeId(nodeId)) throw new Error(`invalid node id for a topic: ${JSON.stringify(nodeId)}`);
  return `${TOPIC_ROOT}/${nodeId}/${name}`;
}

/** Splits a concrete topic into node id and topic name; undefined when it is not ours. */
export function parseNodeTopic(topicName: string): { nodeId: string; name: TopicName } | undefined {
  const prefix = `${TOPIC_ROOT}/`;
  if (!topicName.startsWith(prefix)) return undefined;
  const rest = topicName.slice(prefix.length).split('/');
  if (rest.length !== 2) return undefined;
  const [nodeId, name] = rest as [string, string];
  if (!isValidNodeId(nodeId) || !(name in TOPICS)) return undefined;
  return { nodeId, name: name as TopicName };
}

/** Each JSON topic's compiled validator, made on first use (a program compiles only what it reads). */
const validators = new Map<TopicName, ReturnType<typeof Compile>>();

function validatorOf(name: TopicName): ReturnType<typeof Compile> {
  let validator = validators.get(name);
  if (!validator) {
    validator = Compile(TOPICS[name].schema as TSchema);
    validators.set(name, validator);
  }
  return validator;
}

function binaryCodec(name: TopicName): BinaryCodec<unknown> | undefined {
  return (TOPICS[name] as TopicSpec<TSchema>).binary as BinaryCodec<unknown> | undefined;
}

export type DecodeResult<T extends TopicName> =
  | { ok: true; payload: TopicPayload<T> }
  | { ok: false; error: string };

/** Parses and validates a payload for a topic. Never throws. */
export function decodePayload<T extends TopicName>(name: T, payload: Buffer | string): DecodeResult<T> {
  const binary = binaryCodec(name);
  if (binary) {
    if (typeof payload === 'string') return { ok: false, error: 'payload must be binary' };
    if (payload.length > MAX_MQTT_PAYLOAD_BYTES) return { ok: false, error: 'payload too large' };
    return binary.decode(payload) as DecodeResult<T>;
  }
  const text = typeof payload === 'string' ? payload : payload.toString('utf8');
  if (Buffer.byteLength(text) > MAX_MQTT_PAYLOAD_BYTES) return { ok: false, error: 'payload too large' };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, error: 'payload is not JSON' };
  }
  const validator = validatorOf(name);
  if (!validator.Check(value)) {
    const first = [...validator.Errors(value)][0];
    return { ok: false, error: first ? `${first.instancePath || '/'} ${first.message}` : 'invalid payload' };
  }
  return { ok: true, payload: value as TopicPayload<T> };
}

export function encodePayload<T extends TopicName>(name: T, payload: TopicPayload<T>): Buffer {
  const binary = binaryCodec(name);
  if (binary) return binary.encode(payload);
  return Buffer.from(JSON.stringify(payload));
}

/**
 * The broker's ACL: a node may publish only the agent-published topics of its own
 * subtree and subscribe only to its own `cmd`. No wildcards: a filter must be a
 * concrete topic. Returns a reason when refused.
 */
export function aclFor(
  clientNodeId: string,
  action: 'publish' | 'subscribe',
  topicName: string,
): { allowed: true; name: TopicName } | { allowed: false; reason: string } {
  if (topicName.includes('+') || topicName.includes('#'))
    return { allowed: false, reason: 'wildcards are not allowed' };
  const parsed = parseNodeTopic(topicName);
  if (!parsed) return { allowed: false, reason: 'not an Earshot topic' };
  if (parsed.nodeId !== clientNodeId) return { allowed: false, reason: "another node's topic" };
  const spec = TOPICS[parsed.name];
  if (action === 'publish' && spec.publisher !== 'agent')
    return { allowed: false, reason: 'controller-only topic' };
  if (action === 'subscribe' && spec.publisher !== 'controller')
    return { allowed: false, reason: 'agents subscribe to cmd only' };
  return { allowed: true, name: parsed.name };
}
