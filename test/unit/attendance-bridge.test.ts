import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  AttendanceBridge,
  type AttendanceBridgeOptions,
  type BridgeVoiceState,
} from '../../controller/src/modules/attendance/discord/attendance-bridge.js';
import type { BotVoiceState } from '../../controller/src/modules/attendance/discord/discord-bot.js';
import type {
  ClosedSession,
  GuildTrackingSettings,
  TrackerSnapshot,
  VoiceStateInput,
} from '../../controller/src/modules/attendance/tracking/tracker.types.js';
import { until } from '../support/until.js';
import {
  errorsOnlyLog,
  HandTimers,
  numberedTracker,
  trackingSettings,
  voiceState,
} from '../support/voice.js';

const G = '900000000000000001';
const S = 1000;

const vs = (userId: string, channelId: string | null): BridgeVoiceState => voiceState(userId, channelId);

const ALL: GuildTrackingSettings = trackingSettings();

function harness(overrides: Partial<AttendanceBridgeOptions> = {}) {
  const clock = { nowMs: 0 };
  const timers = new HandTimers();
  const closed: ClosedSession[] = [];
  const snapshots: TrackerSnapshot[] = [];
  const errors: unknown[][] = [];
  const tracker = numberedTracker({ maxOutageCreditSeconds: 60 });
  const bridge = new AttendanceBridge({
    tracker,
    now: () => clock.nowMs,
    settingsFor: async () => ALL,
    onClosed: async (sessions) => void closed.push(...sessions),
    onSnapshot: async (snapshot) => void snapshots.push(snapshot),
    timers,
    log: errorsOnlyLog((...args: unknown[]) => errors.push(args)),
    ...overrides,
  });
  return { bridge, tracker, clock, timers, closed, snapshots, errors };
}

describe('AttendanceBridge', () => {
  it('takes exactly what the bot hands over', () => {
    expectTypeOf<BotVoiceState>().toEqualTypeOf<VoiceStateInput>();
    expectTypeOf<BridgeVoiceState>().toEqualTypeOf<VoiceStateInput>();
  });

  it('heartbeats every 30 s while, and only while, the bot is ready; each beat saves a snapshot', async () => {
    const h = harness();
    await h.bridge.start();
    h.bridge.stateChanged('connecting');
    expect(h.timers.tick).toBeUndefined();
    h.bridge.stateChanged('ready');
    expect(h.timers.intervalMs).toBe(30_000);
    await h.bridge.guildAvailable(G, [vs('u1', 'c1')], null);

    h.clock.nowMs = 30 * S;
    h.timers.tick?.();
    // After the save of the session opened at 0 s, if that one is still under way.
    await until(() => h.snapshots.at(-1)?.sessions[0]?.lastObservedAtMs === 30 * S, {
      what: 'the heartbeat snapshot',
    });
    expect(h.snapshots.at(-1)?.sessions.map((s) => [s.userId, s.activeMs, s.lastObservedAtMs])).toEqual([
      ['u1', 30 * S, 30 * S],
    ]);

    h.bridge.stateChanged('reconnecting');
    expect(h.timers.tick).toBeUndefined();
    const beats = h.snapshots.length;
    h.clock.nowMs = 60 * S;
    h.bridge.beat(); // a stray tick while disconnected does nothing
    expect(h.snapshots.length).toBe(beats);
    expect(h.tracker.openSessions(G)[0]?.lastObservedAtMs).toBe(30 * S);
  });

  it('does not heartbeat a guild while its settings are read for the reconcile', async () => {
    let release: (settings: GuildTrackingSettings) => void = () => {};
    let lookups = 0;
    const h = harness({
      settingsFor: (): Promise<GuildTrackingSettings> =>
        ++lookups === 1 ? Promise.resolve(ALL) : new Promise((resolve) => (release = resolve)),
    });
    await h.bridge.start();
    h.bridge.stateChanged('ready');
    await h.bridge.guildAvailable(G, [vs('u1', 'c1')], null);
    h.bridge.stateChanged('reconnecting'); // last observation: 0

    h.bridge.stateChanged('ready'); // after a re-identify
    const reconciled = h.bridge.guildAvailable(G, [], null);
    h.clock.nowMs = 130 * S;
    h.timers.tick?.(); // would observe the guild at 130 s with where members were before the outage
    h.clock.nowMs = 200 * S;
    release(ALL);
    await reconciled;
    expect(h.closed.map((c) => [c.session.endedAtMs, c.session.outageMs, c.session.closeReason])).toEqual([
      [60 * S, 60 * S, 'reconcile'],
    ]);
  });

  it('on stop: a last heartbeat and a snapshot, no session closed; later events are ignored', async () => {
    const h = harness();
    await h.bridge.start();
    h.bridge.stateChanged('ready');
    await h.bridge.guildAvailable(G, [], null);
    await h.bridge.voiceStateUpdate(G, null, vs('u1', 'c1'));
    h.clock.nowMs = 45 * S;
    const opened = h.snapshots.length; // the join was saved at once
    h.bridge.stateChanged('stopped'); // the bot stops first, still connected until now
    await Promise.all([h.bridge.stop(), h.bridge.stop()]);
    expect(h.timers.tick).toBeUndefined();
    expect(h.closed).toEqual([]);
    expect(h.snapshots).toHaveLength(opened + 1);
    expect(h.snapshots.at(-1)?.sessions.map((s) => [s.activeMs, s.lastObservedAtMs])).toEqual([
      [45 * S, 45 * S],
    ]);

    await h.bridge.voiceStateUpdate(G, vs('u1', 'c1'), null);
    expect(h.closed).toEqual([]);
  });

  it('saves a snapshot as soon as a session opens, not only at the next heartbeat; one save at a time', async () => {
    let release = () => {};
    let saving = 0;
    const h = harness();
    const saved: TrackerSnapshot[] = [];
    const slow = harness({
      onSnapshot: (snapshot) => {
        saving++;
        saved.push(snapshot);
        return new Promise<void>((resolve) => (release = resolve));
      },
    });
    for (const { bridge } of [h, slow]) {
      await bridge.start();
      bridge.stateChanged('ready');
      await bridge.guildAvailable(G, [], null);
    }
    expect(h.snapshots).toEqual([]); // nothing open, nothing to save

    await h.bridge.voiceStateUpdate(G, null, vs('u1', 'c1'));
    await Promise.resolve();
    expect(h.snapshots.at(-1)?.sessions.map((s) => s.userId)).toEqual(['u1']);
    const afterJoin = h.snapshots.length;
    h.clock.nowMs = 5 * S;
    await h.bridge.voiceStateUpdate(G, vs('u1', 'c1'), { ...vs('u1', 'c1'), selfMute: true });
    await Promise.resolve();
    expect(h.snapshots).toHaveLength(afterJoin); // no new session: left to the heartbeat

    // A slow store: joins while a save is under way are saved once, after it.
    await slow.bridge.voiceStateUpdate(G, null, vs('u1', 'c1'));
    await slow.bridge.voiceStateUpdate(G, null, vs('u2', 'c1'));
    await slow.bridge.voiceStateUpdate(G, null, vs('u3', 'c1'));
    expect(saving).toBe(1);
    release();
    await until(() => saving === 2, { what: 'the second save' });
    expect(
      saved
        .at(-1)
        ?.sessions.map((s) => s.userId)
        .sort(),
    ).toEqual(['u1', 'u2', 'u3']);
    release();
  });

  it("Discord's AFK channel replaces the stored one, also when settings are refreshed", async () => {
    const h = harness({ settingsFor: async () => ({ ...ALL, afkChannelId: 'stale' }) });
    await h.bridge.start();
    await h.bridge.guildAvailable(G, [vs('u1', 'afk'), vs('u2', 'stale')], 'afk');
    expect(h.tracker.openSessions(G).map((s) => s.userId)).toEqual(['u2']);
    await h.bridge.refreshSettings(G);
    expect(h.tracker.openSessions(G).map((s) => s.userId)).toEqual(['u2']);
  });

  it('a failed settings lookup is logged and the guild is reconciled under the settings it had', async () => {
    let fail = false;
    const h = harness({
      settingsFor: async () => {
        if (fail) throw new Error('database is down');
        return ALL;
      },
    });
    await h.bridge.start();
    await h.bridge.guildAvailable(G, [vs('u1', 'c1'), vs('u2', 'c1')], null);
    fail = true;
    h.clock.nowMs = 10 * S;
    await h.bridge.guildAvailable(G, [vs('u1', 'c1')], null);
    expect(h.errors.map((args) => args[1])).toEqual([
      'reading attendance settings failed; keeping the previous ones',
    ]);
    expect(h.closed.map((c) => [c.session.userId, c.session.closeReason])).toEqual([['u2', 'reconcile']]);
    expect(h.tracker.openSessions(G).map((s) => s.userId)).toEqual(['u1']);
  });

  it('a failing sink is logged with the session ids, never thrown into the bot', async () => {
    const h = harness({
      onClosed: async () => {
        throw new Error('disk full');
      },
    });
    await h.bridge.start();
    await h.bridge.guildAvailable(G, [vs('u1', 'c1')], null);
    await expect(h.bridge.voiceStateUpdate(G, vs('u1', 'c1'), null)).resolves.toBeUndefined();
    expect(h.errors).toEqual([
      [{ err: new Error('disk full'), sessionIds: ['s1'] }, 'storing closed attendance sessions failed'],
    ]);
  });

  it('registers a guild with its name before reading its settings', async () => {
    const calls: string[] = [];
    const h = harness({
      registerGuild: async (guild) =>
        void calls.push(`register ${guild.id} ${guild.name} ${guild.afkChannelId}`),
      settingsFor: async (guildId) => {
        calls.push(`settings ${guildId}`);
        return ALL;
      },
    });
    await h.bridge.start();
    await h.bridge.botCallbacks().onGuildAvailable(G, [vs('u1', 'c1')], 'afk', 'The Guild');
    expect(calls).toEqual([`register ${G} The Guild afk`, `settings ${G}`]);
    expect(h.tracker.openSessions(G).map((s) => s.userId)).toEqual(['u1']);
  });

  it('a failed registration is logged and the guild is still reconciled', async () => {
    const h = harness({
      registerGuild: async () => {
        throw new Error('database is down');
      },
    });
    await h.bridge.start();
    await h.bridge.guildAvailable(G, [vs('u1', 'c1')], null, 'The Guild');
    expect(h.errors.map((args) => args[1])).toEqual(['registering the guild failed']);
    expect(h.tracker.openSessions(G).map((s) => s.userId)).toEqual(['u1']);
  });

  it('the bot removed from a guild: its open sessions close now, then onGuildRemoved', async () => {
    const removed: string[] = [];
    const h = harness({ onGuildRemoved: async (guildId) => void removed.push(guildId) });
    await h.bridge.start();
    h.bridge.stateChanged('ready');
    await h.bridge.guildAvailable(G, [vs('u1', 'c1')], null);
    h.clock.nowMs = 40 * S;
    await h.bridge.botCallbacks().onGuildRemoved(G);
    expect(
      h.closed.map((c) => [c.session.userId, c.session.endedAtMs, c.session.activeMs, c.session.closeReason]),
    ).toEqual([['u1', 40 * S, 40 * S, 'reconcile']]);
    expect(removed).toEqual([G]);
    expect(h.tracker.openSessions(G)).toEqual([]);
  });

  it('applySettings returns what a settings change closed, without delivering it; nothing when stopped', async () => {
    let settings = ALL;
    const h = harness({ settingsFor: async () => settings });
    expect(await h.bridge.applySettings(G)).toBeUndefined();
    await h.bridge.start();
    await h.bridge.guildAvailable(G, [vs('u1', 'c1')], null);
    h.clock.nowMs = 20 * S;
    settings = { ...ALL, mode: 'off' };
    const closed = await h.bridge.applySettings(G);
    expect(closed?.map((c) => [c.session.userId, c.session.activeMs, c.session.closeReason])).toEqual([
      ['u1', 20 * S, 'untracked'],
    ]);
    expect(h.closed).toEqual([]);
    await h.bridge.stop();
    expect(await h.bridge.applySettings(G)).toBeUndefined();
  });
});
