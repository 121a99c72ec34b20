/**
 * Attendance end to end inside one process: the fake Discord (gateway + REST) → the real
 * discord.js client → DiscordBot → AttendanceBridge → VoiceTracker, with the clock and
 * the heartbeat timer in the test's hands. Each scenario has its own guild and settings
 * (served through `settingsFor`), sets the clock, makes one voice change, and waits until
 * the bridge has handled that event before the next: durations are exact, and nothing
 * waits on real time.
 *
 * The scenarios run in order on one bot; the resume, re-identify and stop scenarios
 * come last because they affect every guild.
 */
import { EventEmitter } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AttendanceBridge } from '../../controller/src/modules/attendance/discord/attendance-bridge.js';
import {
  DiscordBot,
  type DiscordBotState,
} from '../../controller/src/modules/attendance/discord/discord-bot.js';
import {
  type ClosedSession,
  type CompletedSession,
  type FairnessSettings,
  type GuildTrackingSettings,
  type TrackerSnapshot,
  UNCONFIGURED_SETTINGS,
} from '../../controller/src/modules/attendance/tracking/tracker.types.js';
import { FakeDiscord, type VoiceChange } from '../support/fake-discord/fake-discord.js';
import { errorsOnlyLog, HandTimers, numberedTracker, trackingSettings } from '../support/voice.js';

const ALICE = '310000000000000001';
const BOB = '310000000000000002';
const CAROL = '310000000000000003';
const MUSIC_BOT = '310000000000000009';
const MAX_OUTAGE_CREDIT_S = 60;
const S = 1000;

/** A guild of its own per scenario: channel ids are global in discord.js, so they differ per guild. */
function scenarioGuild(n: number) {
  const id = (kind: number) => `4${String(n).padStart(2, '0')}${kind}00000000000000`;
  return { id: id(0), A: id(1), B: id(2), C: id(3), AFK: id(4) };
}
type ScenarioGuild = ReturnType<typeof scenarioGuild>;

function settings(
  mode: GuildTrackingSettings['mode'],
  trackedChannelIds: string[] = [],
  fairness: Partial<FairnessSettings> = {},
): GuildTrackingSettings {
  // Deliberately not the AFK channel (afkChannelId: null): the bridge takes Discord's.
  return trackingSettings({ mode, trackedChannelIds, afkChannelId: null }, fairness);
}

/** What the bridge handled, counted after each callback settles; a wait that re-checks on every change. */
class Progress {
  readonly handled = new Map<string, number>();
  readonly states: { state: DiscordBotState; heartbeating: boolean }[] = [];
  private readonly changed = new EventEmitter();

  count(key: string): number {
    return this.handled.get(key) ?? 0;
  }

  bump(...keys: string[]): void {
    for (const key of keys) this.handled.set(key, this.count(key) + 1);
    this.changed.emit('change');
  }

  state(state: DiscordBotState, heartbeating: boolean): void {
    this.states.push({ state, heartbeating });
    this.changed.emit('change');
  }

  until(what: string, check: () => boolean, timeoutMs = 20_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const finish = () => {
        clearTimeout(timer);
        this.changed.off('change', poll);
      };
      const poll = () => {
        if (check()) {
          finish();
          resolve();
        }
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`timed out waiting for ${what}; handled ${JSON.stringify([...this.handled])}`));
      }, timeoutMs);
      this.changed.on('change', poll);
      poll();
    });
  }
}

describe('attendance: fake Discord → discord.js → DiscordBot → AttendanceBridge → VoiceTracker', () => {
  let fake: FakeDiscord;
  let bot: DiscordBot;
  let bridge: AttendanceBridge;
  const timers = new HandTimers();
  const progress = new Progress();
  const closed: ClosedSession[] = [];
  const snapshots: TrackerSnapshot[] = [];
  const guildSettings = new Map<string, GuildTrackingSettings>();
  const errors: string[] = [];
  let nowMs = 1_700_000_000_000;

  /** Sets the clock to `base + seconds`, makes the change, waits until the bridge handled it. */
  async function voiceAt(
    base: number,
    seconds: number,
    guild: ScenarioGuild,
    userId: string,
    change: VoiceChange,
  ): Promise<void> {
    nowMs = base + seconds * S;
    const key = `voice:${guild.id}`;
    const target = progress.count(key) + 1;
    fake.voice(guild.id, userId, change);
    await progress.until(`voice update ${target} in ${guild.id}`, () => progress.count(key) >= target);
  }

  /** Adds the scenario's guild with its settings; returns the clock base, once it is reconciled. */
  async function addScenario(n: number, settingsOf?: (guild: ScenarioGuild) => GuildTrackingSettings) {
    const guild = scenarioGuild(n);
    if (settingsOf) guildSettings.set(guild.id, settingsOf(guild));
    nowMs += 3_600 * S;
    const base = nowMs;
    fake.addGuild({
      id: guild.id,
      name: `scenario ${n}`,
      afkChannelId: guild.AFK,
      channels: [
        { id: guild.A, name: 'A', type: 2 },
        { id: guild.B, name: 'B', type: 2 },
        { id: guild.C, name: 'C', type: 2 },
        { id: guild.AFK, name: 'AFK', type: 2 },
      ],
      members: [
        { id: ALICE, username: 'alice' },
        { id: BOB, username: 'bob' },
        { id: CAROL, username: 'carol' },
        { id: MUSIC_BOT, username: 'music', bot: true },
      ],
    });
    await progress.until(`guild ${guild.id} available`, () => progress.count(`guild:${guild.id}`) >= 1);
    return { guild, base };
  }

  function sessionsOf(guild: ScenarioGuild): CompletedSession[] {
    return closed.filter((c) => c.session.guildId === guild.id && !c.discarded).map((c) => c.session);
  }

  /** A completed session as expected, times as seconds from the scenario's base. */
  function session(
    guild: ScenarioGuild,
    base: number,
    expected: {
      userId: string;
      channelId: string;
      from: number;
      to: number;
      active: number;
      paused?: number;
      outage?: number;
      reason: CompletedSession['closeReason'];
    },
  ): CompletedSession {
    return {
      sessionId: expect.any(String) as string,
      guildId: guild.id,
      userId: expected.userId,
      channelId: expected.channelId,
      startedAtMs: base + expected.from * S,
      endedAtMs: base + expected.to * S,
      activeMs: expected.active * S,
      pausedMs: (expected.paused ?? 0) * S,
      outageMs: (expected.outage ?? 0) * S,
      closeReason: expected.reason,
    };
  }

  beforeAll(async () => {
    fake = await FakeDiscord.start({ heartbeatIntervalMs: 1_000 });
    const log = errorsOnlyLog((...args: unknown[]) => void errors.push(JSON.stringify(args)));
    bridge = new AttendanceBridge({
      tracker: numberedTracker({ maxOutageCreditSeconds: MAX_OUTAGE_CREDIT_S }),
      now: () => nowMs,
      settingsFor: async (guildId) => guildSettings.get(guildId) ?? UNCONFIGURED_SETTINGS,
      onClosed: async (sessions) => void closed.push(...sessions),
      onSnapshot: async (snapshot) => void snapshots.push(snapshot),
      timers,
      log,
    });
    const callbacks = bridge.botCallbacks();
    bot = new DiscordBot({
      token: fake.token,
      restApiBase: fake.restApiBase,
      onVoiceStateUpdate: async (guildId, before, after) => {
        await callbacks.onVoiceStateUpdate(guildId, before, after);
        progress.bump('voice', `voice:${guildId}`);
      },
      onGuildAvailable: async (guildId, voiceStates, afkChannelId, name) => {
        await callbacks.onGuildAvailable(guildId, voiceStates, afkChannelId, name);
        progress.bump('guild', `guild:${guildId}`);
      },
      onStateChange: (state) => {
        callbacks.onStateChange(state);
        progress.state(state, timers.active);
      },
      onInteraction: async () => ({ content: '', ephemeral: true }),
      log,
    });
    await bridge.start();
    await bot.start();
    await progress.until('the bot ready', () => bot.state === 'ready');
  });

  afterAll(async () => {
    await bot?.stop();
    await bridge?.stop();
    await fake?.stop();
  });

  it('heartbeats only while connected, every 30 s', () => {
    expect(progress.states).toEqual([
      { state: 'connecting', heartbeating: false },
      { state: 'ready', heartbeating: true },
    ]);
    expect(timers.intervalMs).toBe(30_000);
  });

  it('join then leave: one session, the whole stay active (mode all)', async () => {
    const { guild, base } = await addScenario(1, () => settings('all'));
    await voiceAt(base, 0, guild, ALICE, { channelId: guild.A });
    await voiceAt(base, 125.25, guild, ALICE, { channelId: null });
    expect(sessionsOf(guild)).toEqual([
      session(guild, base, {
        userId: ALICE,
        channelId: guild.A,
        from: 0,
        to: 125.25,
        active: 125.25,
        reason: 'leave',
      }),
    ]);
  });

  it('pauseOnMute on: self and server mute pause the session', async () => {
    const { guild, base } = await addScenario(2, () => settings('all', [], { pauseOnMute: true }));
    await voiceAt(base, 0, guild, ALICE, { channelId: guild.A });
    await voiceAt(base, 10, guild, ALICE, { selfMute: true });
    await voiceAt(base, 25, guild, ALICE, { selfMute: false });
    await voiceAt(base, 40, guild, ALICE, { mute: true });
    await voiceAt(base, 50, guild, ALICE, { mute: false });
    await voiceAt(base, 60, guild, ALICE, { channelId: null });
    expect(sessionsOf(guild)).toEqual([
      session(guild, base, {
        userId: ALICE,
        channelId: guild.A,
        from: 0,
        to: 60,
        active: 35,
        paused: 25,
        reason: 'leave',
      }),
    ]);
  });

  it('pauseOnMute off: muting changes nothing', async () => {
    const { guild, base } = await addScenario(3, () => settings('all'));
    await voiceAt(base, 0, guild, ALICE, { channelId: guild.A });
    await voiceAt(base, 10, guild, ALICE, { selfMute: true });
    await voiceAt(base, 25, guild, ALICE, { selfMute: false });
    await voiceAt(base, 40, guild, ALICE, { mute: true });
    await voiceAt(base, 60, guild, ALICE, { channelId: null });
    expect(sessionsOf(guild)).toEqual([
      session(guild, base, {
        userId: ALICE,
        channelId: guild.A,
        from: 0,
        to: 60,
        active: 60,
        reason: 'leave',
      }),
    ]);
  });

  it('pauseOnDeafen: self and server deafen pause, a mute alone does not', async () => {
    const { guild, base } = await addScenario(4, () => settings('all', [], { pauseOnDeafen: true }));
    await voiceAt(base, 0, guild, ALICE, { channelId: guild.A });
    await voiceAt(base, 20, guild, ALICE, { selfDeaf: true });
    await voiceAt(base, 30, guild, ALICE, { selfDeaf: false });
    await voiceAt(base, 45, guild, ALICE, { deaf: true });
    await voiceAt(base, 50, guild, ALICE, { deaf: false });
    await voiceAt(base, 60, guild, ALICE, { selfMute: true });
    await voiceAt(base, 70, guild, ALICE, { channelId: null });
    expect(sessionsOf(guild)).toEqual([
      session(guild, base, {
        userId: ALICE,
        channelId: guild.A,
        from: 0,
        to: 70,
        active: 55,
        paused: 15,
        reason: 'leave',
      }),
    ]);
  });

  it('pauseWhenSolo: counts only with another human; a bot is no company and never tracked', async () => {
    const { guild, base } = await addScenario(5, () => settings('all', [], { pauseWhenSolo: true }));
    await voiceAt(base, 0, guild, ALICE, { channelId: guild.A });
    await voiceAt(base, 5, guild, MUSIC_BOT, { channelId: guild.A });
    await voiceAt(base, 10, guild, BOB, { channelId: guild.A });
    await voiceAt(base, 40, guild, BOB, { channelId: null });
    await voiceAt(base, 50, guild, ALICE, { channelId: null });
    await voiceAt(base, 55, guild, MUSIC_BOT, { channelId: null });
    expect(sessionsOf(guild)).toEqual([
      session(guild, base, {
        userId: BOB,
        channelId: guild.A,
        from: 10,
        to: 40,
        active: 30,
        reason: 'leave',
      }),
      session(guild, base, {
        userId: ALICE,
        channelId: guild.A,
        from: 0,
        to: 50,
        active: 30,
        paused: 20,
        reason: 'leave',
      }),
    ]);
  });

  it('allowlist: a move between tracked channels closes and opens; into an untracked one only closes', async () => {
    const { guild, base } = await addScenario(6, undefined);
    guildSettings.set(guild.id, settings('allowlist', [guild.A, guild.B]));
    await bridge.refreshSettings(guild.id);
    await voiceAt(base, 0, guild, ALICE, { channelId: guild.A });
    await voiceAt(base, 20, guild, ALICE, { channelId: guild.B });
    await voiceAt(base, 50, guild, ALICE, { channelId: guild.C });
    await voiceAt(base, 65, guild, ALICE, { channelId: guild.A });
    await voiceAt(base, 80, guild, ALICE, { channelId: null });
    expect(sessionsOf(guild)).toEqual([
      session(guild, base, {
        userId: ALICE,
        channelId: guild.A,
        from: 0,
        to: 20,
        active: 20,
        reason: 'move',
      }),
      session(guild, base, {
        userId: ALICE,
        channelId: guild.B,
        from: 20,
        to: 50,
        active: 30,
        reason: 'move',
      }),
      session(guild, base, {
        userId: ALICE,
        channelId: guild.A,
        from: 65,
        to: 80,
        active: 15,
        reason: 'leave',
      }),
    ]);
  });

  it("the AFK channel Discord reports never counts, even in mode all with settings that don't name it", async () => {
    const { guild, base } = await addScenario(7, () => settings('all'));
    await voiceAt(base, 0, guild, ALICE, { channelId: guild.AFK });
    await voiceAt(base, 30, guild, ALICE, { channelId: guild.A });
    await voiceAt(base, 45, guild, ALICE, { channelId: guild.AFK });
    await voiceAt(base, 100, guild, ALICE, { channelId: null });
    expect(sessionsOf(guild)).toEqual([
      session(guild, base, {
        userId: ALICE,
        channelId: guild.A,
        from: 30,
        to: 45,
        active: 15,
        reason: 'move',
      }),
    ]);
  });

  it('denylist: listed channels and bots are not tracked', async () => {
    const { guild, base } = await addScenario(8, (g) => settings('denylist', [g.B]));
    await voiceAt(base, 0, guild, ALICE, { channelId: guild.A });
    await voiceAt(base, 0, guild, BOB, { channelId: guild.B });
    await voiceAt(base, 5, guild, MUSIC_BOT, { channelId: guild.A });
    await voiceAt(base, 30, guild, ALICE, { channelId: null });
    await voiceAt(base, 40, guild, BOB, { channelId: null });
    await voiceAt(base, 50, guild, MUSIC_BOT, { channelId: null });
    expect(sessionsOf(guild)).toEqual([
      session(guild, base, {
        userId: ALICE,
        channelId: guild.A,
        from: 0,
        to: 30,
        active: 30,
        reason: 'leave',
      }),
    ]);
    expect(closed.filter((c) => c.session.userId === MUSIC_BOT)).toEqual([]);
  });

  it('off, and unconfigured until told otherwise: nothing is tracked until the settings say so', async () => {
    const { guild, base } = await addScenario(9, () => settings('off'));
    await voiceAt(base, 0, guild, ALICE, { channelId: guild.A });
    await voiceAt(base, 0, guild, BOB, { channelId: guild.A });
    await voiceAt(base, 5, guild, BOB, { channelId: null });
    expect(sessionsOf(guild)).toEqual([]);

    // The settings change (the attendance service calls refreshSettings): Alice, present, opens now.
    nowMs = base + 10 * S;
    guildSettings.set(guild.id, settings('all'));
    await bridge.refreshSettings(guild.id);
    await voiceAt(base, 25, guild, ALICE, { channelId: null });
    expect(sessionsOf(guild)).toEqual([
      session(guild, base, {
        userId: ALICE,
        channelId: guild.A,
        from: 10,
        to: 25,
        active: 15,
        reason: 'leave',
      }),
    ]);

    // A guild never configured is in mode off.
    const unconfigured = await addScenario(10, undefined);
    await voiceAt(unconfigured.base, 0, unconfigured.guild, ALICE, { channelId: unconfigured.guild.A });
    await voiceAt(unconfigured.base, 30, unconfigured.guild, ALICE, { channelId: null });
    expect(sessionsOf(unconfigured.guild)).toEqual([]);
  });

  it('a dropped connection resumes: the missed events are replayed and durations stay exact', async () => {
    const { guild, base } = await addScenario(11, () => settings('all', [], { pauseOnMute: true }));
    await voiceAt(base, 0, guild, ALICE, { channelId: guild.A });
    await voiceAt(base, 5, guild, BOB, { channelId: guild.A });

    const statesFrom = progress.states.length;
    const voiceFrom = progress.count(`voice:${guild.id}`);
    nowMs = base + 20 * S;
    fake.dropConnection();
    // Made while disconnected: Discord keeps them for the session and replays them on RESUME.
    fake.voice(guild.id, ALICE, { selfMute: true });
    fake.voice(guild.id, BOB, { channelId: null });
    await progress.until(
      'the replayed updates and the resumed session',
      () => progress.count(`voice:${guild.id}`) === voiceFrom + 2 && bot.state === 'ready',
    );
    // No heartbeats while the connection was down; a fresh interval once resumed.
    expect(progress.states.slice(statesFrom)).toEqual([
      { state: 'reconnecting', heartbeating: false },
      { state: 'ready', heartbeating: true },
    ]);

    await voiceAt(base, 50, guild, ALICE, { channelId: null });
    expect(sessionsOf(guild)).toEqual([
      session(guild, base, { userId: BOB, channelId: guild.A, from: 5, to: 20, active: 15, reason: 'leave' }),
      session(guild, base, {
        userId: ALICE,
        channelId: guild.A,
        from: 0,
        to: 50,
        active: 20,
        paused: 30,
        reason: 'leave',
      }),
    ]);
  });

  it('a forced re-identify: reconcile closes and moves per the outage rule, with bounded credit', async () => {
    const { guild, base } = await addScenario(12, (g) => settings('allowlist', [g.A, g.B]));
    await voiceAt(base, 0, guild, ALICE, { channelId: guild.A });
    await voiceAt(base, 0, guild, BOB, { channelId: guild.A });
    await voiceAt(base, 0, guild, CAROL, { channelId: guild.B });

    // Connected and watching at 30 s: the last observation before the outage.
    nowMs = base + 30 * S;
    const snapshotsFrom = snapshots.length;
    timers.fire();
    await progress.until('the heartbeat snapshot', () => snapshots.length > snapshotsFrom);
    expect(
      snapshots
        .at(-1)
        ?.sessions.filter((s) => s.guildId === guild.id)
        .map((s) => [s.userId, s.channelId, s.activeMs, s.lastObservedAtMs]),
    ).toEqual([
      [ALICE, guild.A, 30 * S, base + 30 * S],
      [BOB, guild.A, 30 * S, base + 30 * S],
      [CAROL, guild.B, 30 * S, base + 30 * S],
    ]);

    // Blind for 100 s (the credit is 60 s); the guild comes back at 130 s.
    const statesFrom = progress.states.length;
    const guildsFrom = progress.count(`guild:${guild.id}`);
    nowMs = base + 130 * S;
    fake.forceReidentify();
    fake.voice(guild.id, ALICE, { channelId: null });
    fake.voice(guild.id, BOB, { channelId: guild.B });
    await progress.until(
      'the guild reconciled after the re-identify',
      () => progress.count(`guild:${guild.id}`) > guildsFrom && bot.state === 'ready',
    );
    // Blind from INVALID_SESSION until READY: no heartbeat could observe the guild meanwhile.
    expect(progress.states.slice(statesFrom)).toEqual([
      { state: 'reconnecting', heartbeating: false },
      { state: 'ready', heartbeating: true },
    ]);

    const credit = MAX_OUTAGE_CREDIT_S;
    expect(sessionsOf(guild)).toEqual([
      session(guild, base, {
        userId: ALICE,
        channelId: guild.A,
        from: 0,
        to: 30 + credit,
        active: 30 + credit,
        outage: credit,
        reason: 'reconcile',
      }),
      session(guild, base, {
        userId: BOB,
        channelId: guild.A,
        from: 0,
        to: 30 + credit,
        active: 30 + credit,
        outage: credit,
        reason: 'reconcile',
      }),
    ]);

    // Carol stayed: credited 60 s of the 100 s gap, all 100 s recorded as outage.
    // Bob's session in B began when he was found there (an unknown time in the gap: no credit).
    await voiceAt(base, 150, guild, CAROL, { channelId: null });
    await voiceAt(base, 160, guild, BOB, { channelId: null });
    expect(sessionsOf(guild).slice(2)).toEqual([
      session(guild, base, {
        userId: CAROL,
        channelId: guild.B,
        from: 0,
        to: 150,
        active: 30 + credit + 20,
        outage: 100,
        reason: 'leave',
      }),
      session(guild, base, {
        userId: BOB,
        channelId: guild.B,
        from: 130,
        to: 160,
        active: 30,
        reason: 'leave',
      }),
    ]);
    const carol = sessionsOf(guild)[2]!;
    expect(carol.activeMs + carol.pausedMs + (carol.outageMs - credit * S)).toBe(
      carol.endedAtMs - carol.startedAtMs,
    );
  });

  it('stop: a last heartbeat and a snapshot of the open sessions, none closed', async () => {
    const guild = scenarioGuild(12);
    const base = nowMs;
    await voiceAt(base, 0, guild, ALICE, { channelId: guild.A });
    const closedBefore = closed.length;
    nowMs = base + 45 * S;
    await bot.stop();
    await bridge.stop();
    expect(timers.active).toBe(false);
    expect(closed.length).toBe(closedBefore);
    expect(snapshots.at(-1)?.sessions).toEqual([
      {
        sessionId: expect.any(String),
        guildId: guild.id,
        userId: ALICE,
        channelId: guild.A,
        startedAtMs: base,
        stayStartedAtMs: base,
        activeMs: 45 * S,
        pausedMs: 0,
        outageMs: 0,
        pausedSinceMs: null,
        lastObservedAtMs: base + 45 * S,
      },
    ]);
    expect(errors).toEqual([]);
  });
});
