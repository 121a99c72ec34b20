import { describe, expect, it } from 'vitest';
import type {
  GuildTrackingSettings,
  TrackerSnapshot,
} from '../../controller/src/modules/attendance/tracking/tracker.types.js';
import { VoiceTracker } from '../../controller/src/modules/attendance/tracking/voice-tracker.js';
import { numberedTracker, trackingSettings, voiceState } from '../support/voice.js';

const G = '900000000000000001';
const S = 1000;
const MIN = 60 * S;

const vs = voiceState;

const settings = (fairness: Partial<GuildTrackingSettings['fairness']> = {}): GuildTrackingSettings =>
  trackingSettings({ afkChannelId: 'afk' }, fairness);

function tracker(guildSettings = settings()) {
  const t = numberedTracker({ maxOutageCreditSeconds: 300 });
  t.settingsChanged(G, guildSettings, 0);
  return t;
}

/** Through JSON, as the caller would persist it. */
const persisted = (snapshot: TrackerSnapshot): TrackerSnapshot => JSON.parse(JSON.stringify(snapshot));

describe('VoiceTracker: snapshot and restore', () => {
  it('round-trips a mid-session state: the restored session ends as if uninterrupted, plus the outage', () => {
    const fairness = { pauseOnMute: true, pauseWhenSolo: true };
    const run = (restartAtMs: number | null) => {
      let t = tracker(settings(fairness));
      t.voiceStateUpdate(G, null, vs('a', 'c1'), 0); // a solo: paused
      t.voiceStateUpdate(G, null, vs('b', 'c1'), 10 * S); // both counting
      t.voiceStateUpdate(G, vs('a', 'c1'), vs('a', 'c1', { selfMute: true }), 20 * S); // a paused
      if (restartAtMs !== null) {
        t.heartbeat(30 * S);
        const snapshot = persisted(t.snapshot());
        expect(snapshot.sessions).toEqual([
          expect.objectContaining({
            userId: 'a',
            activeMs: 10 * S,
            pausedMs: 20 * S,
            pausedSinceMs: 20 * S,
            lastObservedAtMs: 30 * S,
          }),
          expect.objectContaining({
            userId: 'b',
            activeMs: 20 * S,
            pausedMs: 0,
            pausedSinceMs: null,
            lastObservedAtMs: 30 * S,
          }),
        ]);
        t = new VoiceTracker({ newSessionId: () => 'fresh' });
        t.restore(snapshot);
        t.settingsChanged(G, settings(fairness), restartAtMs);
        expect(t.reconcile(G, [vs('a', 'c1', { selfMute: true }), vs('b', 'c1')], restartAtMs)).toEqual([]);
      }
      t.voiceStateUpdate(G, vs('a', 'c1', { selfMute: true }), vs('a', 'c1'), 100 * S);
      const a = t.voiceStateUpdate(G, vs('a', 'c1'), vs('a', null), 120 * S);
      const b = t.voiceStateUpdate(G, vs('b', 'c1'), vs('b', null), 130 * S);
      return [...a, ...b].map((c) => c.session);
    };
    const uninterrupted = run(null);
    const restarted = run(90 * S); // 60 s outage, within the 300 s credit
    expect(restarted).toEqual(uninterrupted.map((s) => ({ ...s, outageMs: 60 * S })));
    expect(uninterrupted).toMatchObject([
      { userId: 'a', sessionId: 's1', activeMs: 30 * S, pausedMs: 90 * S },
      { userId: 'b', sessionId: 's2', activeMs: 110 * S, pausedMs: 10 * S },
    ]);
  });

  it('rejects an unknown version and a snapshot with two sessions for one member', () => {
    const t = new VoiceTracker();
    expect(() => t.restore({ version: 2 } as unknown as TrackerSnapshot)).toThrow(/version/);
    const source = tracker();
    source.voiceStateUpdate(G, null, vs('a', 'c1'), 0);
    const [session] = source.snapshot().sessions;
    expect(() => t.restore({ version: 1, sessions: [session!, { ...session!, sessionId: 'x' }] })).toThrow(
      /two open sessions/,
    );
  });

  it('restore replaces whatever the tracker held and keeps the settings', () => {
    const source = tracker();
    source.voiceStateUpdate(G, null, vs('a', 'c1'), 0);
    const snapshot = source.snapshot();
    const t = tracker();
    t.voiceStateUpdate(G, null, vs('z', 'c9'), 0);
    t.restore(snapshot);
    expect(t.openSessions(G).map((s) => s.userId)).toEqual(['a']);
    t.reconcile(G, [vs('z', 'c9')], 10 * S);
    expect(t.openSessions(G).map((s) => s.userId)).toEqual(['z']);
  });
});

describe('VoiceTracker: reconcile after an outage', () => {
  it('without changes: sessions continue, the gap is recorded, and counted in full when within the credit', () => {
    const t = tracker();
    t.voiceStateUpdate(G, null, vs('a', 'c1'), 0);
    t.heartbeat(100 * S);
    // Disconnected from 100 s to 200 s: no heartbeats.
    expect(t.reconcile(G, [vs('a', 'c1')], 200 * S)).toEqual([]);
    const [closed] = t.voiceStateUpdate(G, vs('a', 'c1'), vs('a', null), 250 * S);
    expect(closed!.session).toMatchObject({
      activeMs: 250 * S,
      pausedMs: 0,
      outageMs: 100 * S,
      closeReason: 'leave',
    });
  });

  it('credits at most maxOutageCreditSeconds of a long gap, to the state the member was in', () => {
    const t = tracker(settings({ pauseOnDeafen: true }));
    t.voiceStateUpdate(G, null, vs('a', 'c1'), 0);
    t.voiceStateUpdate(G, null, vs('b', 'c1', { serverDeaf: true }), 0);
    t.heartbeat(60 * S);
    t.reconcile(G, [vs('a', 'c1'), vs('b', 'c1')], 60 * S + 60 * MIN); // a 1 h outage; b undeafened meanwhile
    const closed = t.closeAll(G, 'shutdown', 60 * S + 61 * MIN);
    const [a, b] = closed.map((c) => c.session);
    expect(a).toMatchObject({ activeMs: 60 * S + 5 * MIN + 1 * MIN, pausedMs: 0, outageMs: 60 * MIN });
    expect(b).toMatchObject({ activeMs: 1 * MIN, pausedMs: 60 * S + 5 * MIN, outageMs: 60 * MIN });
    for (const s of [a!, b!]) {
      const credited = 5 * MIN;
      expect(s.activeMs + s.pausedMs + (s.outageMs - credited)).toBe(s.endedAtMs - s.startedAtMs);
    }
  });

  it('closes members gone at last observation + credit (never later than reconcile)', () => {
    const t = tracker();
    t.voiceStateUpdate(G, null, vs('a', 'c1'), 0);
    t.voiceStateUpdate(G, null, vs('b', 'c1'), 0);
    t.heartbeat(100 * S);
    const long = t.reconcile(G, [vs('b', 'c1')], 100 * S + 60 * MIN);
    expect(long).toMatchObject([
      {
        discarded: false,
        session: {
          userId: 'a',
          endedAtMs: 400 * S,
          activeMs: 400 * S,
          outageMs: 300 * S,
          closeReason: 'reconcile',
        },
      },
    ]);
    t.heartbeat(100 * S + 61 * MIN);
    const short = t.reconcile(G, [], 100 * S + 61 * MIN + 30 * S);
    expect(short[0]!.session).toMatchObject({ userId: 'b', endedAtMs: 100 * S + 61 * MIN + 30 * S });
  });

  it('closes members found in another channel and opens their new session at reconcile', () => {
    const t = tracker();
    t.voiceStateUpdate(G, null, vs('a', 'c1'), 0);
    t.heartbeat(10 * S);
    const closed = t.reconcile(
      G,
      [vs('a', 'c2'), vs('n', 'c1'), vs('bot', 'c1', { isBot: true }), vs('x', null)],
      20 * S,
    );
    expect(closed).toMatchObject([
      { session: { channelId: 'c1', endedAtMs: 20 * S, closeReason: 'reconcile' } },
    ]);
    expect(t.openSessions(G)).toMatchObject([
      { userId: 'a', channelId: 'c2', startedAtMs: 20 * S, stayStartedAtMs: 20 * S },
      { userId: 'n', channelId: 'c1', startedAtMs: 20 * S },
    ]);
  });

  it('a gone member is judged by the minimum stay like any other', () => {
    const t = tracker(settings({ minSessionSeconds: 60 }));
    t.voiceStateUpdate(G, null, vs('a', 'c1'), 0);
    t.heartbeat(10 * S);
    expect(t.reconcile(G, [], 30 * S)[0]!.discarded).toBe(true);
  });

  it('re-evaluates solo pauses from the voice states it finds', () => {
    const t = tracker(settings({ pauseWhenSolo: true }));
    t.voiceStateUpdate(G, null, vs('a', 'c1'), 0);
    t.voiceStateUpdate(G, null, vs('b', 'c1'), 0);
    t.heartbeat(100 * S);
    t.reconcile(G, [vs('a', 'c1')], 200 * S); // b left during the outage: a is solo from now
    const [a] = t.closeAll(G, 'reset', 300 * S);
    expect(a!.session).toMatchObject({ activeMs: 200 * S, pausedMs: 100 * S, outageMs: 100 * S });
  });

  it('events and heartbeats are observations: a reconcile soon after one credits only the short gap', () => {
    const t = tracker();
    t.voiceStateUpdate(G, null, vs('a', 'c1'), 0);
    t.voiceStateUpdate(G, null, vs('b', 'c2'), 50 * S);
    t.reconcile(G, [vs('a', 'c1'), vs('b', 'c2')], 80 * S);
    expect(t.openSessions(G, 80 * S).map((s) => s.outageMs)).toEqual([30 * S, 30 * S]);
  });
});

describe('VoiceTracker: restored sessions before reconcile', () => {
  function restored(lastObservedAtMs: number) {
    const source = tracker();
    source.voiceStateUpdate(G, null, vs('a', 'c1'), 0);
    source.voiceStateUpdate(G, null, vs('b', 'c1'), 0);
    source.heartbeat(lastObservedAtMs);
    const t = tracker();
    t.restore(persisted(source.snapshot()));
    return t;
  }

  it('an event showing the member still there resumes the session under the outage rule', () => {
    const t = restored(60 * S);
    expect(
      t.voiceStateUpdate(G, vs('a', 'c1'), vs('a', 'c1', { selfMute: true }), 60 * S + 10 * MIN),
    ).toEqual([]);
    const [a] = t.voiceStateUpdate(G, null, vs('a', null), 60 * S + 11 * MIN);
    expect(a!.session).toMatchObject({
      activeMs: 60 * S + 5 * MIN + 1 * MIN,
      outageMs: 10 * MIN,
      closeReason: 'leave',
    });
  });

  it('an event showing the member elsewhere closes the session at last observation + credit', () => {
    const t = restored(60 * S);
    const closed = t.voiceStateUpdate(G, vs('a', 'c1'), vs('a', 'c2'), 60 * S + 10 * MIN);
    expect(closed).toMatchObject([
      { session: { channelId: 'c1', endedAtMs: 60 * S + 5 * MIN, closeReason: 'reconcile' } },
    ]);
    expect(t.openSessions(G).map((s) => [s.userId, s.channelId])).toEqual([
      ['b', 'c1'],
      ['a', 'c2'],
    ]);
  });

  it('a restored session counts no time until seen again; closeAll ends it at last observation + credit', () => {
    const t = restored(60 * S);
    t.heartbeat(60 * S + 60 * MIN);
    expect(t.openSessions(G, 60 * S + 60 * MIN).map((s) => s.activeMs)).toEqual([60 * S, 60 * S]);
    const closed = t.closeAll(G, 'reset', 60 * S + 60 * MIN);
    expect(closed.map((c) => c.session.endedAtMs)).toEqual([60 * S + 5 * MIN, 60 * S + 5 * MIN]);
    expect(t.reopenPresent(G, 60 * S + 60 * MIN)).toBe(0);
  });
});
