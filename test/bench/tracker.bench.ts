/**
 * Attendance tracker: replays 1,000,000 voice-state events (seeded, so every run sees
 * the same stream) over 1,000 members (2 % bots) × 50 channels — joins, leaves, moves,
 * self/server mutes and deafens — through the tracker, with every fairness rule on and
 * with none. The reference, measured in the same run over the same events, is a plain
 * Map update per event: the least any tracker must do. Also reports the restart path
 * (snapshot → JSON → restore → reconcile) for the sessions left open.
 */
import type {
  ClosedSession,
  GuildTrackingSettings,
  VoiceStateInput,
} from '../../controller/src/modules/attendance/tracking/tracker.types.js';
import { VoiceTracker } from '../../controller/src/modules/attendance/tracking/voice-tracker.js';
import type { BenchRow } from './report.js';

const EVENTS = 1_000_000;
const USERS = 1_000;
const CHANNELS = 50;
const RUNS = 3;
const GUILD = '900000000000000001';

interface VoiceEvent {
  before: VoiceStateInput | null;
  after: VoiceStateInput;
  nowMs: number;
}

/** mulberry32: small, fast, and the same stream on every platform. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function generateEvents(seed: number): VoiceEvent[] {
  const random = prng(seed);
  const current: (VoiceStateInput | null)[] = new Array(USERS).fill(null);
  const userIds = Array.from({ length: USERS }, (_, i) =>
    String(100_000_000_000_000_000n + BigInt(i) * 7919n),
  );
  const channelIds = Array.from({ length: CHANNELS }, (_, i) => String(800_000_000_000_000_000n + BigInt(i)));
  const events: VoiceEvent[] = new Array(EVENTS);
  let nowMs = Date.UTC(2025, 0, 1);
  for (let i = 0; i < EVENTS; i++) {
    nowMs += Math.floor(random() * 400);
    const user = Math.floor(random() * USERS);
    const before = current[user]!;
    const base: VoiceStateInput = before ?? {
      userId: userIds[user]!,
      channelId: null,
      selfMute: random() < 0.1,
      serverMute: false,
      selfDeaf: false,
      serverDeaf: false,
      isBot: user % 50 === 0,
    };
    const after = { ...base };
    const r = random();
    if (base.channelId === null) after.channelId = channelIds[Math.floor(random() * CHANNELS)]!;
    else if (r < 0.12) after.channelId = null;
    else if (r < 0.32) after.channelId = channelIds[Math.floor(random() * CHANNELS)]!;
    else if (r < 0.62) after.selfMute = !base.selfMute;
    else if (r < 0.77) {
      after.selfDeaf = !base.selfDeaf;
      if (after.selfDeaf) after.selfMute = true; // as Discord does
    } else if (r < 0.87) after.serverMute = !base.serverMute;
    else if (r < 0.92) after.serverDeaf = !base.serverDeaf;
    // else: a change the tracker does not read (video, stream, suppress)
    events[i] = { before, after, nowMs };
    current[user] = after.channelId === null ? null : after;
  }
  return events;
}

function settings(fairnessOn: boolean): GuildTrackingSettings {
  return {
    mode: fairnessOn ? 'denylist' : 'all',
    trackedChannelIds: fairnessOn ? ['800000000000000001', '800000000000000002'] : [],
    afkChannelId: '800000000000000000',
    fairness: {
      pauseOnMute: fairnessOn,
      pauseOnDeafen: fairnessOn,
      pauseWhenSolo: fairnessOn,
      minSessionSeconds: fairnessOn ? 10 : 0,
    },
  };
}

function replay(events: VoiceEvent[], guildSettings: GuildTrackingSettings, count = events.length) {
  const tracker = new VoiceTracker();
  tracker.settingsChanged(GUILD, guildSettings, events[0]!.nowMs);
  let closed = 0;
  let discarded = 0;
  let violations = 0;
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    const event = events[i]!;
    const out: readonly ClosedSession[] = tracker.voiceStateUpdate(
      GUILD,
      event.before,
      event.after,
      event.nowMs,
    );
    for (const { session, discarded: dropped } of out) {
      closed++;
      if (dropped) discarded++;
      if (session.activeMs + session.pausedMs !== session.endedAtMs - session.startedAtMs) violations++;
    }
  }
  return { seconds: (performance.now() - started) / 1000, closed, discarded, violations, tracker };
}

function mapFloor(events: VoiceEvent[], count = events.length): number {
  const where = new Map<string, VoiceStateInput>();
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    const after = events[i]!.after;
    if (after.channelId === null) where.delete(after.userId);
    else where.set(after.userId, after);
  }
  const seconds = (performance.now() - started) / 1000;
  if (where.size > USERS) throw new Error('impossible');
  return seconds;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

export async function trackerBench(): Promise<BenchRow[]> {
  const events = generateEvents(0x5eed);
  const lastAt = events[events.length - 1]!.nowMs;
  const rows: BenchRow[] = [];
  // Warm up both loops so neither pays for JIT compilation in the measured runs.
  replay(events, settings(true), 100_000);
  mapFloor(events, 100_000);
  const floorRate = EVENTS / median(Array.from({ length: RUNS }, () => mapFloor(events)));
  for (const fairnessOn of [true, false]) {
    const runs = Array.from({ length: RUNS }, () => replay(events, settings(fairnessOn)));
    const rate = EVENTS / median(runs.map((run) => run.seconds));
    const label = fairnessOn ? 'all fairness rules, denylist' : 'no fairness rules, mode all';
    const last = runs[runs.length - 1]!;
    rows.push(
      {
        bench: 'tracker',
        subject: `voiceStateUpdate, ${label}`,
        metric: 'events/s',
        value: rate,
        unit: '/s',
        reference: { subject: 'Map.set per event', value: floorRate, ratio: rate / floorRate },
      },
      {
        bench: 'tracker',
        subject: label,
        metric: 'sessions closed (discarded)',
        value: last.closed,
        unit: `(${last.discarded})`,
      },
      { bench: 'tracker', subject: label, metric: 'active+paused ≠ span', value: last.violations, unit: '' },
    );
    if (fairnessOn) {
      const open = last.tracker.openSessions(GUILD);
      const present = new Map<string, VoiceStateInput>();
      for (const event of events)
        if (event.after.channelId === null) present.delete(event.after.userId);
        else present.set(event.after.userId, event.after);
      const started = performance.now();
      const snapshot = JSON.stringify(last.tracker.snapshot());
      const restored = new VoiceTracker();
      restored.restore(JSON.parse(snapshot));
      restored.settingsChanged(GUILD, settings(true), lastAt + 60_000);
      restored.reconcile(GUILD, [...present.values()], lastAt + 60_000);
      rows.push({
        bench: 'tracker',
        subject: `restart path for ${open.length} open sessions (${snapshot.length} B JSON)`,
        metric: 'snapshot+restore+reconcile',
        value: performance.now() - started,
        unit: 'ms',
      });
    }
  }
  return rows;
}
