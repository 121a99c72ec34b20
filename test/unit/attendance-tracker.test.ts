import { describe, expect, it } from 'vitest';
import type {
  ClosedSession,
  FairnessSettings,
  GuildTrackingSettings,
  VoiceStateInput,
} from '../../controller/src/modules/attendance/tracking/tracker.types.js';
import { VoiceTracker } from '../../controller/src/modules/attendance/tracking/voice-tracker.js';
import { numberedTracker, trackingSettings, voiceState } from '../support/voice.js';

const G = '900000000000000001';
const S = 1000;
type Flags = Partial<Pick<VoiceStateInput, 'selfMute' | 'serverMute' | 'selfDeaf' | 'serverDeaf' | 'isBot'>>;

const vs = voiceState;

const settings = (overrides: Partial<GuildTrackingSettings> = {}, fairness: Partial<FairnessSettings> = {}) =>
  trackingSettings({ afkChannelId: 'afk', ...overrides }, fairness);

/** A tracker with deterministic ids and a `move(user, channel, at, flags)` shorthand. */
function harness(guildSettings: GuildTrackingSettings = settings()) {
  const tracker = numberedTracker();
  tracker.settingsChanged(G, guildSettings, 0);
  const where = new Map<string, VoiceStateInput>();
  const closed: ClosedSession[] = [];
  const move = (userId: string, channelId: string | null, atMs: number, flags: Flags = {}) => {
    const before = where.get(userId) ?? null;
    const after = vs(userId, channelId, flags);
    where.set(userId, after);
    const out = tracker.voiceStateUpdate(G, before, after, atMs);
    closed.push(...out);
    return out;
  };
  const of = (userId: string) => closed.filter((c) => c.session.userId === userId).map((c) => c.session);
  return { tracker, move, closed, of };
}

describe('VoiceTracker: tracked channels', () => {
  it('records a join and a leave as one session with the whole span active', () => {
    const h = harness();
    expect(h.move('u1', 'c1', 1_000)).toEqual([]);
    expect(h.tracker.openSessions(G).map((s) => s.userId)).toEqual(['u1']);
    const [out] = h.move('u1', null, 61_000);
    expect(out).toEqual({
      discarded: false,
      session: {
        sessionId: 's1',
        guildId: G,
        userId: 'u1',
        channelId: 'c1',
        startedAtMs: 1_000,
        endedAtMs: 61_000,
        activeMs: 60_000,
        pausedMs: 0,
        outageMs: 0,
        closeReason: 'leave',
      },
    });
    expect(h.tracker.openSessions(G)).toEqual([]);
  });

  it('uses random v4 uuids by default', () => {
    const tracker = new VoiceTracker();
    tracker.settingsChanged(G, settings(), 0);
    tracker.voiceStateUpdate(G, null, vs('u1', 'c1'), 0);
    const [out] = tracker.voiceStateUpdate(G, vs('u1', 'c1'), vs('u1', null), 5);
    expect(out!.session.sessionId).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
  });

  it('a leave given only as `before` (after null) closes the session', () => {
    const h = harness();
    h.move('u1', 'c1', 0);
    const out = h.tracker.voiceStateUpdate(G, vs('u1', 'c1'), null, 10 * S);
    expect(out.map((c) => c.session.closeReason)).toEqual(['leave']);
  });

  it('mode off tracks nothing; all tracks everything but the AFK channel', () => {
    const off = harness(settings({ mode: 'off' }));
    off.move('u1', 'c1', 0);
    expect(off.tracker.openSessions(G)).toEqual([]);
    const all = harness(settings({ mode: 'all' }));
    all.move('u1', 'c1', 0);
    all.move('u2', 'afk', 0);
    expect(all.tracker.openSessions(G).map((s) => s.channelId)).toEqual(['c1']);
  });

  it('allowlist tracks only listed channels, denylist all but listed ones, neither the AFK channel', () => {
    const allow = harness(settings({ mode: 'allowlist', trackedChannelIds: ['c1', 'afk'] }));
    for (const [user, channel] of [
      ['u1', 'c1'],
      ['u2', 'c2'],
      ['u3', 'afk'],
    ] as const)
      allow.move(user, channel, 0);
    expect(allow.tracker.openSessions(G).map((s) => s.channelId)).toEqual(['c1']);
    const deny = harness(settings({ mode: 'denylist', trackedChannelIds: ['c1'] }));
    for (const [user, channel] of [
      ['u1', 'c1'],
      ['u2', 'c2'],
      ['u3', 'afk'],
    ] as const)
      deny.move(user, channel, 0);
    expect(deny.tracker.openSessions(G).map((s) => s.channelId)).toEqual(['c2']);
  });

  it('never tracks bots', () => {
    const h = harness();
    h.move('bot', 'c1', 0, { isBot: true });
    expect(h.tracker.openSessions(G)).toEqual([]);
    expect(h.move('bot', null, 10 * S, { isBot: true })).toEqual([]);
  });

  it('a move closes the session and opens the next at the same instant when the new channel is tracked', () => {
    const h = harness(settings({ mode: 'denylist', trackedChannelIds: ['quiet'] }));
    h.move('u1', 'c1', 0);
    const [first] = h.move('u1', 'c2', 10 * S);
    expect(first!.session).toMatchObject({ channelId: 'c1', endedAtMs: 10 * S, closeReason: 'move' });
    expect(h.tracker.openSessions(G)).toMatchObject([{ channelId: 'c2', startedAtMs: 10 * S }]);
    const [second] = h.move('u1', 'quiet', 25 * S);
    expect(second!.session).toMatchObject({ channelId: 'c2', activeMs: 15 * S, closeReason: 'move' });
    expect(h.tracker.openSessions(G)).toEqual([]);
    expect(h.move('u1', 'afk', 30 * S)).toEqual([]);
    h.move('u1', 'c3', 40 * S);
    expect(h.tracker.openSessions(G)).toMatchObject([{ channelId: 'c3', startedAtMs: 40 * S }]);
  });

  it('ignores repeated states and flag changes when no fairness rule is on', () => {
    const h = harness();
    h.move('u1', 'c1', 0);
    expect(h.move('u1', 'c1', 5 * S)).toEqual([]);
    expect(h.move('u1', 'c1', 6 * S, { selfMute: true, selfDeaf: true })).toEqual([]);
    h.move('u1', null, 10 * S);
    expect(h.of('u1')).toMatchObject([{ activeMs: 10 * S, pausedMs: 0 }]);
    expect(h.move('u1', null, 11 * S)).toEqual([]);
  });
});

describe('VoiceTracker: mute and deafen pauses', () => {
  const cases = [
    { flag: 'selfMute', rule: 'pauseOnMute' },
    { flag: 'serverMute', rule: 'pauseOnMute' },
    { flag: 'selfDeaf', rule: 'pauseOnDeafen' },
    { flag: 'serverDeaf', rule: 'pauseOnDeafen' },
  ] as const;
  for (const { flag, rule } of cases)
    for (const enabled of [true, false])
      it(`${flag} with ${rule} ${enabled ? 'on' : 'off'}: join flagged, clear, set, leave flagged`, () => {
        const h = harness(settings({}, { [rule]: enabled }));
        h.move('u1', 'c1', 0, { [flag]: true }); // 0–10 s flagged
        h.move('u1', 'c1', 10 * S); // 10–30 s clear
        expect(h.tracker.openSessions(G, 20 * S)[0]!.pausedSinceMs).toBeNull();
        h.move('u1', 'c1', 30 * S, { [flag]: true }); // 30–60 s flagged
        expect(h.tracker.openSessions(G, 40 * S)[0]).toMatchObject({
          pausedSinceMs: enabled ? 30 * S : null,
          activeMs: enabled ? 20 * S : 40 * S,
        });
        h.move('u1', null, 60 * S);
        expect(h.of('u1')).toMatchObject([
          enabled ? { activeMs: 20 * S, pausedMs: 40 * S } : { activeMs: 60 * S, pausedMs: 0 },
        ]);
      });

  it('each rule reacts only to its own flags', () => {
    const muteOnly = harness(settings({}, { pauseOnMute: true }));
    muteOnly.move('u1', 'c1', 0, { selfDeaf: true, serverDeaf: true });
    muteOnly.move('u1', null, 10 * S);
    expect(muteOnly.of('u1')).toMatchObject([{ activeMs: 10 * S }]);
    const deafOnly = harness(settings({}, { pauseOnDeafen: true }));
    deafOnly.move('u1', 'c1', 0, { selfMute: true, serverMute: true });
    deafOnly.move('u1', null, 10 * S);
    expect(deafOnly.of('u1')).toMatchObject([{ activeMs: 10 * S }]);
  });

  it('stays paused while any enabled rule holds', () => {
    const h = harness(settings({}, { pauseOnMute: true, pauseOnDeafen: true }));
    h.move('u1', 'c1', 0, { selfMute: true, selfDeaf: true });
    h.move('u1', 'c1', 10 * S, { selfMute: true }); // undeafened, still muted
    h.move('u1', 'c1', 20 * S, { serverDeaf: true }); // unmuted, server-deafened
    h.move('u1', 'c1', 30 * S); // clear
    h.move('u1', null, 45 * S);
    expect(h.of('u1')).toMatchObject([{ activeMs: 15 * S, pausedMs: 30 * S }]);
  });
});

describe('VoiceTracker: pause when solo', () => {
  it('pauses the lone member and resumes when a second human joins, pauses again when they leave', () => {
    const h = harness(settings({}, { pauseWhenSolo: true }));
    h.move('a', 'c1', 0); // alone 0–10
    expect(h.tracker.openSessions(G)[0]!.pausedSinceMs).toBe(0);
    h.move('b', 'c1', 10 * S); // together 10–30
    expect(h.tracker.openSessions(G).map((s) => s.pausedSinceMs)).toEqual([null, null]);
    h.move('b', null, 30 * S); // a alone 30–50
    h.move('bot', 'c1', 40 * S, { isBot: true }); // a bot is no company
    expect(h.tracker.openSessions(G, 45 * S)[0]).toMatchObject({ pausedSinceMs: 30 * S, activeMs: 20 * S });
    h.move('c', 'c1', 50 * S); // together 50–60
    h.move('a', null, 60 * S); // c alone 60–70
    h.move('c', null, 70 * S);
    expect(h.of('a')).toMatchObject([{ activeMs: 30 * S, pausedMs: 30 * S }]);
    expect(h.of('b')).toMatchObject([{ activeMs: 20 * S, pausedMs: 0 }]);
    expect(h.of('c')).toMatchObject([{ activeMs: 10 * S, pausedMs: 10 * S }]);
  });

  it('counts nothing as paused with the rule off', () => {
    const h = harness();
    h.move('a', 'c1', 0);
    h.move('a', null, 30 * S);
    expect(h.of('a')).toMatchObject([{ activeMs: 30 * S, pausedMs: 0 }]);
  });

  it('a muted or deafened companion still counts as company', () => {
    const h = harness(settings({}, { pauseWhenSolo: true, pauseOnMute: true }));
    h.move('a', 'c1', 0);
    h.move('b', 'c1', 10 * S, { selfMute: true, selfDeaf: true });
    h.move('a', null, 20 * S);
    h.move('b', null, 20 * S);
    expect(h.of('a')).toMatchObject([{ activeMs: 10 * S, pausedMs: 10 * S }]);
    expect(h.of('b')).toMatchObject([{ activeMs: 0, pausedMs: 10 * S }]);
  });

  it('a companion moving away or into the channel changes the other member state at that instant', () => {
    const h = harness(settings({}, { pauseWhenSolo: true }));
    h.move('a', 'c1', 0);
    h.move('b', 'c1', 0); // together from 0
    h.move('b', 'c2', 10 * S); // a alone, b alone in c2
    h.move('b', 'c1', 25 * S); // together again
    h.move('a', null, 30 * S);
    expect(h.of('a')).toMatchObject([{ activeMs: 15 * S, pausedMs: 15 * S }]);
    expect(h.of('b').map((s) => [s.channelId, s.activeMs, s.pausedMs])).toEqual([
      ['c1', 10 * S, 0],
      ['c2', 0, 15 * S],
    ]);
  });

  it('a third member arriving or leaving changes nothing for the two already together', () => {
    const h = harness(settings({}, { pauseWhenSolo: true }));
    h.move('a', 'c1', 0);
    h.move('b', 'c1', 0);
    h.move('c', 'c1', 5 * S);
    h.move('c', null, 6 * S);
    h.move('a', null, 10 * S);
    expect(h.of('a')).toMatchObject([{ activeMs: 10 * S, pausedMs: 0 }]);
    expect(h.of('c')).toMatchObject([{ activeMs: 1 * S, pausedMs: 0 }]);
  });

  it('members in the AFK or an untracked channel keep no one company elsewhere, but are company there', () => {
    const h = harness(settings({ mode: 'allowlist', trackedChannelIds: ['c1'] }, { pauseWhenSolo: true }));
    h.move('a', 'c1', 0);
    h.move('b', 'afk', 0);
    h.move('c', 'c2', 0);
    h.move('a', null, 10 * S);
    expect(h.of('a')).toMatchObject([{ activeMs: 0, pausedMs: 10 * S }]);
    // Once c2 becomes tracked, c's session there is solo; a member joining c2 ends that.
    h.tracker.settingsChanged(
      G,
      settings({ mode: 'allowlist', trackedChannelIds: ['c1', 'c2'] }, { pauseWhenSolo: true }),
      20 * S,
    );
    h.move('d', 'c2', 30 * S);
    h.move('c', null, 40 * S);
    expect(h.of('c')).toMatchObject([{ startedAtMs: 20 * S, activeMs: 10 * S, pausedMs: 10 * S }]);
  });
});

describe('VoiceTracker: minimum session length', () => {
  it('discards stays shorter than minSessionSeconds and keeps those of exactly that length', () => {
    const h = harness(settings({}, { minSessionSeconds: 30 }));
    h.move('a', 'c1', 0);
    expect(h.move('a', null, 29_999)[0]!.discarded).toBe(true);
    h.move('a', 'c1', 100 * S);
    expect(h.move('a', null, 130 * S)[0]!.discarded).toBe(false);
  });

  it('judges each channel of a move on its own stay', () => {
    const h = harness(settings({}, { minSessionSeconds: 30 }));
    h.move('a', 'c1', 0);
    expect(h.move('a', 'c2', 10 * S)[0]).toMatchObject({ discarded: true, session: { closeReason: 'move' } });
    expect(h.move('a', null, 50 * S)[0]).toMatchObject({ discarded: false, session: { channelId: 'c2' } });
  });

  it('a stay counts as long as the member was there, not how long they were unpaused', () => {
    const h = harness(settings({}, { minSessionSeconds: 30, pauseOnMute: true }));
    h.move('a', 'c1', 0, { selfMute: true });
    expect(h.move('a', null, 40 * S)[0]).toMatchObject({ discarded: false, session: { activeMs: 0 } });
  });

  it('never discards a reset fragment and judges the reopened session by the whole stay', () => {
    const h = harness(settings({}, { minSessionSeconds: 30 }));
    h.move('a', 'c1', 0);
    const reset = h.tracker.closeAll(G, 'reset', 10 * S);
    expect(reset).toMatchObject([{ discarded: false, session: { closeReason: 'reset', activeMs: 10 * S } }]);
    expect(h.tracker.openSessions(G)).toEqual([]);
    expect(h.tracker.reopenPresent(G, 10 * S)).toBe(1);
    expect(h.tracker.openSessions(G)).toMatchObject([{ startedAtMs: 10 * S, stayStartedAtMs: 0 }]);
    expect(h.move('a', null, 35 * S)[0]).toMatchObject({ discarded: false, session: { activeMs: 25 * S } });
  });

  it('uses the minimum in force when the session closes', () => {
    const h = harness();
    h.move('a', 'c1', 0);
    h.tracker.settingsChanged(G, settings({}, { minSessionSeconds: 60 }), 5 * S);
    expect(h.move('a', null, 10 * S)[0]!.discarded).toBe(true);
  });
});

describe('VoiceTracker: settings changes', () => {
  it('closes sessions in channels that stop being tracked, opens them in channels that start', () => {
    const h = harness(settings({ mode: 'allowlist', trackedChannelIds: ['c1'] }));
    h.move('a', 'c1', 0);
    h.move('b', 'c2', 0);
    const closed = h.tracker.settingsChanged(
      G,
      settings({ mode: 'allowlist', trackedChannelIds: ['c2'] }),
      10 * S,
    );
    expect(closed).toMatchObject([{ session: { userId: 'a', closeReason: 'untracked', endedAtMs: 10 * S } }]);
    expect(h.tracker.openSessions(G)).toMatchObject([
      { userId: 'b', channelId: 'c2', startedAtMs: 10 * S, stayStartedAtMs: 0 },
    ]);
  });

  it('closes sessions in a channel that becomes the AFK channel, and everything in mode off', () => {
    const h = harness();
    h.move('a', 'c1', 0);
    h.move('b', 'c2', 0);
    const afk = h.tracker.settingsChanged(G, settings({ afkChannelId: 'c1' }), 5 * S);
    expect(afk.map((c) => c.session.userId)).toEqual(['a']);
    const off = h.tracker.settingsChanged(G, settings({ mode: 'off' }), 6 * S);
    expect(off.map((c) => c.session.userId)).toEqual(['b']);
    expect(h.tracker.openSessions(G)).toEqual([]);
  });

  it('starts following a guild before it is configured and opens sessions once it is', () => {
    const tracker = new VoiceTracker();
    tracker.voiceStateUpdate('g2', null, vs('a', 'c1'), 0);
    expect(tracker.openSessions('g2')).toEqual([]);
    tracker.settingsChanged('g2', settings(), 10 * S);
    expect(tracker.openSessions('g2')).toMatchObject([{ userId: 'a', startedAtMs: 10 * S }]);
  });

  it('re-evaluates pauses when fairness rules are switched on and off', () => {
    const h = harness();
    h.move('a', 'c1', 0, { selfMute: true });
    h.tracker.settingsChanged(G, settings({}, { pauseOnMute: true }), 10 * S);
    h.tracker.settingsChanged(G, settings({}, { pauseWhenSolo: true }), 20 * S); // still paused: solo
    h.tracker.settingsChanged(G, settings(), 30 * S);
    h.move('a', null, 40 * S);
    expect(h.of('a')).toMatchObject([{ activeMs: 20 * S, pausedMs: 20 * S }]);
  });

  it('rejects a negative minimum', () => {
    const tracker = new VoiceTracker();
    expect(() => tracker.settingsChanged(G, settings({}, { minSessionSeconds: -1 }), 0)).toThrow(RangeError);
  });
});

describe('VoiceTracker: accounting invariants', () => {
  it('activeMs + pausedMs equals the span of every session over a random walk', () => {
    let seed = 7;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const h = harness(
      settings(
        { mode: 'denylist', trackedChannelIds: ['c3'] },
        {
          pauseOnMute: true,
          pauseOnDeafen: true,
          pauseWhenSolo: true,
          minSessionSeconds: 5,
        },
      ),
    );
    let now = 0;
    for (let i = 0; i < 5000; i++) {
      now += Math.floor(random() * 3000);
      const user = `u${Math.floor(random() * 12)}`;
      const channel = random() < 0.2 ? null : ['c1', 'c2', 'c3', 'afk'][Math.floor(random() * 4)]!;
      h.move(user, channel, now, { selfMute: random() < 0.3, serverDeaf: random() < 0.1 });
    }
    h.closed.push(...h.tracker.closeAll(G, 'shutdown', now + 1));
    expect(h.closed.length).toBeGreaterThan(500);
    for (const { session } of h.closed) {
      expect(session.activeMs + session.pausedMs).toBe(session.endedAtMs - session.startedAtMs);
      expect(session.channelId === 'c3' || session.channelId === 'afk').toBe(false);
    }
  });
});
