/**
 * The attendance bot (DiscordBot, the real discord.js client inside) against the fake
 * Discord in test/support/fake-discord: login and READY, the guild snapshot the tracker
 * reconciles from, voice updates mapped with their before/after, a dropped connection
 * that RESUMEs with the missed events replayed, a forced re-identify whose missed
 * changes show up only in the new guild snapshot, slash commands answered through the
 * interaction callback route, and a stop that leaves nothing open.
 *
 * The tests run in order and share one bot: each continues from the voice states the
 * previous one left. Nothing is timed; every wait is on an event, with a timeout.
 */
import { execFile } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  AttendanceCommand,
  CommandReply,
} from '../../controller/src/modules/attendance/discord/bot-commands.js';
import {
  type BotVoiceState,
  type CommandAnswered,
  DiscordBot,
  type DiscordBotLogger,
  type DiscordBotState,
} from '../../controller/src/modules/attendance/discord/discord-bot.js';
import { FakeDiscord } from '../support/fake-discord/fake-discord.js';
import { ROOT } from '../support/processes.js';
import { voiceState } from '../support/voice.js';

const GUILD = '110000000000000001';
const ROOM_A = '120000000000000001';
const ROOM_B = '120000000000000002';
const AFK = '120000000000000003';
const TEXT = '120000000000000004';
const ALICE = '130000000000000001';
const BOB = '130000000000000002';
const CAROL = '130000000000000003';
const MUSIC_BOT = '130000000000000004';
const STRANGER = '130000000000000009';
const MOD_ROLE = '140000000000000001';
const VERIFIED_ROLE = '140000000000000002';
const MANAGE_GUILD = String(1 << 5);

type Truthy<T> = Exclude<T, false | null | undefined | 0 | ''>;

type BotEvent =
  | { kind: 'voice'; guildId: string; before: BotVoiceState | null; after: BotVoiceState | null }
  | {
      kind: 'guild';
      guildId: string;
      voiceStates: BotVoiceState[];
      afkChannelId: string | null;
      name: string;
    }
  | { kind: 'removed'; guildId: string }
  | { kind: 'ready' }
  | { kind: 'command'; command: AttendanceCommand }
  | { kind: 'answered'; answered: CommandAnswered };

/** What the bot handed to its callbacks, in order, with a wait that re-checks on every new entry. */
class Recorder {
  readonly events: BotEvent[] = [];
  readonly states: DiscordBotState[] = [];
  readonly logLines: string[] = [];
  private readonly changed = new EventEmitter();

  push(event: BotEvent): void {
    this.events.push(event);
    this.changed.emit('change');
  }

  state(state: DiscordBotState): void {
    this.states.push(state);
    this.changed.emit('change');
  }

  /** Events of one kind recorded after `from` (an index into `events`). */
  since<K extends BotEvent['kind']>(from: number, kind: K): Extract<BotEvent, { kind: K }>[] {
    return this.events
      .slice(from)
      .filter((event): event is Extract<BotEvent, { kind: K }> => event.kind === kind);
  }

  until<T>(what: string, check: () => T, timeoutMs = 20_000): Promise<Truthy<T>> {
    return new Promise((resolve, reject) => {
      const finish = () => {
        clearTimeout(timer);
        this.changed.off('change', poll);
      };
      const poll = () => {
        const value = check();
        if (value) {
          finish();
          resolve(value as Truthy<T>);
        }
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`timed out waiting for ${what}; events: ${JSON.stringify(this.events.slice(-10))}`));
      }, timeoutMs);
      this.changed.on('change', poll);
      poll();
    });
  }

  logger(): DiscordBotLogger {
    const line =
      (level: string) =>
      (...args: unknown[]) => {
        this.logLines.push(`${level} ${JSON.stringify(args)}`);
      };
    return {
      debug: line('debug'),
      info: line('info'),
      warn: line('warn'),
      error: line('error'),
    } as DiscordBotLogger;
  }
}

/**
 * The name each member's voice states carry: the guild nickname first (Alice), then the account's
 * display name (Bob), then the username (Carol, the music bot).
 */
const SHOWN_AS: Record<string, string> = {
  [ALICE]: 'Alice the mod',
  [BOB]: 'Bobby',
  [CAROL]: 'carol',
  [MUSIC_BOT]: 'music',
};

const voice = (userId: string, channelId: string, flags: Partial<BotVoiceState> = {}): BotVoiceState =>
  voiceState(userId, channelId, { displayName: SHOWN_AS[userId], ...flags });

const byUser = (a: BotVoiceState, b: BotVoiceState) => a.userId.localeCompare(b.userId);

describe('DiscordBot against the fake Discord gateway', () => {
  let fake: FakeDiscord;
  let bot: DiscordBot;
  const seen = new Recorder();
  let replyTo: (command: AttendanceCommand) => Promise<CommandReply>;

  beforeAll(async () => {
    fake = await FakeDiscord.start({ heartbeatIntervalMs: 1_000 });
    fake.addGuild({
      id: GUILD,
      name: 'Earshot test guild',
      ownerId: CAROL,
      afkChannelId: AFK,
      roles: [
        { id: MOD_ROLE, name: 'mods', permissions: MANAGE_GUILD },
        { id: VERIFIED_ROLE, name: 'verified', permissions: '0' },
      ],
      channels: [
        { id: ROOM_A, name: 'Room A', type: 2 },
        { id: ROOM_B, name: 'Room B', type: 2 },
        { id: AFK, name: 'AFK', type: 2 },
        { id: TEXT, name: 'general', type: 0 },
      ],
      members: [
        { id: ALICE, username: 'alice', nick: 'Alice the mod', roles: [MOD_ROLE] },
        { id: BOB, username: 'bob', globalName: 'Bobby' },
        { id: CAROL, username: 'carol', globalName: null },
        { id: MUSIC_BOT, username: 'music', bot: true },
      ],
    });
    // Already in voice before the bot connects: these reach it only through GUILD_CREATE.
    fake.voice(GUILD, ALICE, { channelId: ROOM_A });
    fake.voice(GUILD, BOB, { channelId: ROOM_A, selfMute: true });
    fake.voice(GUILD, MUSIC_BOT, { channelId: ROOM_A });

    bot = new DiscordBot({
      token: fake.token,
      restApiBase: fake.restApiBase,
      onVoiceStateUpdate: (guildId, before, after) => seen.push({ kind: 'voice', guildId, before, after }),
      onGuildAvailable: (guildId, voiceStates, afkChannelId, name) =>
        seen.push({ kind: 'guild', guildId, voiceStates: [...voiceStates].sort(byUser), afkChannelId, name }),
      onGuildRemoved: (guildId) => seen.push({ kind: 'removed', guildId }),
      onCommandAnswered: (answered) => seen.push({ kind: 'answered', answered }),
      onReady: () => seen.push({ kind: 'ready' }),
      onInteraction: (command) => {
        seen.push({ kind: 'command', command });
        return replyTo(command);
      },
      onStateChange: (state) => seen.state(state),
      log: seen.logger(),
    });
  });

  afterAll(async () => {
    await bot?.stop();
    await fake?.stop();
  });

  it('logs in through REST and the gateway, and is ready', async () => {
    await bot.start();
    await seen.until('ready', () => bot.state === 'ready' && seen.since(0, 'ready').length === 1);

    const gatewayBot = fake.restCalls.find((call) => call.method === 'GET' && call.path === '/gateway/bot');
    expect(gatewayBot).toMatchObject({ authorized: true, status: 200 });
    expect(fake.gatewayLog.filter((e) => e.kind === 'received' && e.op === 2)).toHaveLength(1);
    expect(fake.gatewayLog.find((e) => e.kind === 'sent' && e.t === 'READY')).toMatchObject({ s: 1 });
    expect(seen.states.slice(0, 2)).toEqual(['connecting', 'ready']);

    // Heartbeats are acknowledged (HELLO asked for one a second).
    await fake.waitFor((f) => f.gatewayLog.some((e) => e.kind === 'sent' && e.op === 11), {
      what: 'heartbeat ACK',
    });

    // The members' slash commands are registered globally once the client is ready.
    await fake.waitFor((f) => f.registeredCommands().length === 3, { what: 'command registration' });
    const put = fake.restCalls.find((call) => call.method === 'PUT' && call.path.endsWith('/commands'));
    expect(put?.path).toBe(`/applications/${fake.applicationId}/commands`);
    expect(fake.registeredCommands().map((command) => command.name)).toEqual([
      'stats',
      'leaderboard',
      'verify',
    ]);
  });

  it('reports the guild as available with the voice states it found there', async () => {
    const [guild, ...more] = seen.since(0, 'guild');
    expect(more).toEqual([]);
    expect(guild).toEqual({
      kind: 'guild',
      guildId: GUILD,
      name: 'Earshot test guild',
      afkChannelId: AFK,
      voiceStates: [
        voice(ALICE, ROOM_A),
        voice(BOB, ROOM_A, { selfMute: true }),
        voice(MUSIC_BOT, ROOM_A, { isBot: true }),
      ],
    });
  });

  it('maps join, mute, deafen, move and leave to before/after voice states', async () => {
    const from = seen.events.length;
    fake.voice(GUILD, CAROL, { channelId: ROOM_B });
    fake.voice(GUILD, ALICE, { selfMute: true });
    fake.voice(GUILD, BOB, { deaf: true });
    fake.voice(GUILD, ALICE, { mute: true, selfDeaf: true });
    fake.voice(GUILD, ALICE, { channelId: ROOM_B });
    fake.voice(GUILD, CAROL, { channelId: null });

    const updates = await seen.until('six voice updates', () => {
      const found = seen.since(from, 'voice');
      return found.length === 6 && found;
    });
    const aliceMuted = voice(ALICE, ROOM_A, { selfMute: true });
    const aliceDeafened = voice(ALICE, ROOM_A, { selfMute: true, serverMute: true, selfDeaf: true });
    expect(updates.map(({ before, after }) => ({ before, after }))).toEqual([
      { before: null, after: voice(CAROL, ROOM_B) },
      { before: voice(ALICE, ROOM_A), after: aliceMuted },
      {
        before: voice(BOB, ROOM_A, { selfMute: true }),
        after: voice(BOB, ROOM_A, { selfMute: true, serverDeaf: true }),
      },
      { before: aliceMuted, after: aliceDeafened },
      { before: aliceDeafened, after: { ...aliceDeafened, channelId: ROOM_B } },
      { before: voice(CAROL, ROOM_B), after: null },
    ]);
    expect(updates.every((update) => update.guildId === GUILD)).toBe(true);
  });

  it('resumes after a dropped connection and receives the updates it missed', async () => {
    const from = seen.events.length;
    const statesFrom = seen.states.length;
    const identifies = fake.gatewayLog.filter((e) => e.kind === 'received' && e.op === 2).length;
    fake.dropConnection();
    // Made while the client is disconnected: Discord keeps them for the session and replays them.
    fake.voice(GUILD, BOB, { channelId: null });
    fake.voice(GUILD, CAROL, { channelId: ROOM_A, selfDeaf: true });

    const updates = await seen.until('two replayed voice updates', () => {
      const found = seen.since(from, 'voice');
      return found.length === 2 && found;
    });
    expect(updates.map(({ before, after }) => ({ before, after }))).toEqual([
      { before: voice(BOB, ROOM_A, { selfMute: true, serverDeaf: true }), after: null },
      { before: null, after: voice(CAROL, ROOM_A, { selfDeaf: true }) },
    ]);
    await seen.until('ready again', () => bot.state === 'ready');
    expect(seen.states.slice(statesFrom)).toEqual(['reconnecting', 'ready']);

    // RESUME on the resume URL, the missed dispatches, then RESUMED; no new IDENTIFY or guild snapshot.
    const opened = fake.gatewayLog.filter((e) => e.kind === 'opened').at(-1);
    expect(opened?.path).toBe('/resume');
    const onResumed = fake.gatewayLog.filter(
      (e) => e.connection === opened?.connection && e.kind !== 'opened',
    );
    expect(onResumed.slice(0, 5).map((e) => e.t ?? `${e.kind} op ${e.op}`)).toEqual([
      'sent op 10',
      'received op 6',
      'VOICE_STATE_UPDATE',
      'VOICE_STATE_UPDATE',
      'RESUMED',
    ]);
    expect(fake.gatewayLog.filter((e) => e.kind === 'received' && e.op === 2)).toHaveLength(identifies);
    expect(seen.since(from, 'guild')).toEqual([]);
  });

  it('resumes when Discord asks it to reconnect', async () => {
    const from = seen.events.length;
    const resumes = fake.gatewayLog.filter((e) => e.kind === 'received' && e.op === 6).length;
    fake.requestReconnect();
    await fake.waitFor(
      (f) => f.gatewayLog.filter((e) => e.kind === 'received' && e.op === 6).length > resumes,
      {
        what: 'RESUME after RECONNECT',
      },
    );
    fake.voice(GUILD, CAROL, { selfDeaf: false });
    const [update] = await seen.until('a voice update after RECONNECT', () => {
      const found = seen.since(from, 'voice');
      return found.length === 1 && found;
    });
    expect(update?.after).toEqual(voice(CAROL, ROOM_A));
  });

  it('after a forced re-identify, reports the guild again with the voice states as they are now', async () => {
    const from = seen.events.length;
    const identifies = fake.gatewayLog.filter((e) => e.kind === 'received' && e.op === 2).length;
    fake.forceReidentify();
    // Made while the session is gone: never replayed, only visible in the new GUILD_CREATE.
    fake.voice(GUILD, ALICE, { channelId: null });
    fake.voice(GUILD, BOB, { channelId: ROOM_B });

    const [guild] = await seen.until('guild available after re-identify', () => {
      const found = seen.since(from, 'guild');
      return found.length === 1 && found;
    });
    expect(guild).toEqual({
      kind: 'guild',
      guildId: GUILD,
      name: 'Earshot test guild',
      afkChannelId: AFK,
      voiceStates: [voice(BOB, ROOM_B), voice(CAROL, ROOM_A), voice(MUSIC_BOT, ROOM_A, { isBot: true })],
    });
    await seen.until(
      'ready after re-identify',
      () => bot.state === 'ready' && seen.since(from, 'ready').length === 1,
    );
    expect(seen.since(from, 'voice')).toEqual([]);
    expect(fake.gatewayLog.filter((e) => e.kind === 'received' && e.op === 2)).toHaveLength(identifies + 1);
    expect(fake.gatewayLog.some((e) => e.kind === 'sent' && e.op === 9)).toBe(true);

    // The new session carries on normally.
    fake.voice(GUILD, ALICE, { channelId: ROOM_A });
    await seen.until('a voice update on the new session', () =>
      seen.since(from, 'voice').some((update) => update.after?.userId === ALICE),
    );
  });

  it('answers a slash command through the interaction callback route', async () => {
    replyTo = async (command) => ({
      content: command.name === 'verify' ? `Receipt ${command.receipt}: signature valid` : 'unexpected',
      ephemeral: true,
    });
    const from = seen.events.length;
    const { id, token } = fake.sendInteraction({
      guildId: GUILD,
      channelId: TEXT,
      userId: ALICE,
      name: 'verify',
      options: [{ name: 'receipt', type: 3, value: 'r-42' }],
    });
    const callback = await fake.waitFor(
      (f) => f.restCalls.find((call) => call.path === `/interactions/${id}/${token}/callback`),
      { what: 'interaction callback' },
    );
    expect(seen.since(from, 'command').map((event) => event.command)).toEqual([
      { name: 'verify', guildId: GUILD, userId: ALICE, receipt: 'r-42' },
    ]);
    expect(callback).toMatchObject({ method: 'POST', status: 204 });
    expect(callback.body).toEqual({
      type: 4,
      data: expect.objectContaining({ content: 'Receipt r-42: signature valid', flags: 64 }),
    });
    // Counted once the reply is out.
    const [answered] = await seen.until('the command counted', () => {
      const found = seen.since(from, 'answered');
      return found.length > 0 && found;
    });
    expect(answered?.answered).toEqual({ command: 'verify', guildId: GUILD, outcome: 'answered' });
  });

  it('replies with an apology, and logs, when the command handler fails', async () => {
    replyTo = async () => {
      throw new Error('database is down');
    };
    const from = seen.events.length;
    const { id } = fake.sendInteraction({ guildId: GUILD, channelId: TEXT, userId: BOB, name: 'stats' });
    const callback = await fake.waitFor(
      (f) => f.restCalls.find((call) => call.path.startsWith(`/interactions/${id}/`)),
      { what: 'interaction callback' },
    );
    expect(callback.body).toMatchObject({
      type: 4,
      data: { content: expect.stringMatching(/^Sorry/), flags: 64 },
    });
    expect(seen.logLines.some((line) => line.startsWith('error') && line.includes('database is down'))).toBe(
      true,
    );
    const [answered] = await seen.until('the command counted', () => {
      const found = seen.since(from, 'answered');
      return found.length > 0 && found;
    });
    expect(answered?.answered).toEqual({ command: 'stats', guildId: GUILD, outcome: 'failed' });
  });

  it('reports a guild it was removed from, and no longer counts it', async () => {
    const other = '110000000000000002';
    const from = seen.events.length;
    fake.addGuild({
      id: other,
      name: 'Short stay',
      channels: [{ id: '120000000000000009', name: 'v', type: 2 }],
      members: [{ id: ALICE, username: 'alice' }],
    });
    await seen.until('the second guild', () => seen.since(from, 'guild').some((g) => g.guildId === other));
    expect(bot.guildCount()).toBe(2);
    expect(bot.guildStatus(other)).toBe('available');
    fake.removeGuild(other);
    expect(
      await seen.until('the removal', () => {
        const found = seen.since(from, 'removed');
        return found.length > 0 && found;
      }),
    ).toEqual([{ kind: 'removed', guildId: other }]);
    expect(bot.guildStatus(other)).toBe('absent');
    expect(bot.guildCount()).toBe(1);
    expect(bot.guildStatus(GUILD)).toBe('available');
  });

  it('posts to a log channel, grants and removes a role, and checks Manage Server, through REST', async () => {
    await bot.postMessage(TEXT, 'Weekly summary for @everyone');
    const post = fake.restCalls
      .filter((call) => call.method === 'POST' && call.path === `/channels/${TEXT}/messages`)
      .at(-1);
    expect(post).toMatchObject({ authorized: true, status: 200 });
    expect(post?.body).toEqual({ content: 'Weekly summary for @everyone', allowed_mentions: { parse: [] } });

    await bot.setMemberRole(GUILD, BOB, VERIFIED_ROLE, true, 'verified: 2 h this week');
    expect(fake.memberRoles(GUILD, BOB)).toEqual([VERIFIED_ROLE]);
    await bot.setMemberRole(GUILD, BOB, VERIFIED_ROLE, false);
    expect(fake.memberRoles(GUILD, BOB)).toEqual([]);

    expect(await bot.canManageGuild(GUILD, ALICE)).toBe(true); // through the mods role
    expect(await bot.canManageGuild(GUILD, CAROL)).toBe(true); // owner
    expect(await bot.canManageGuild(GUILD, BOB)).toBe(false);
    expect(await bot.canManageGuild(GUILD, STRANGER)).toBe(false); // 404 Unknown Member
    expect(await bot.canManageGuild('999', ALICE)).toBe(false); // a guild the bot is not in
  });

  it('stops cleanly: a normal close, the session ended, and the token never logged', async () => {
    const closes = fake.gatewayLog.filter((e) => e.kind === 'closed').length;
    await bot.stop();
    await bot.stop();
    expect(bot.state).toBe('stopped');
    const closed = await fake.waitFor(
      (f) => f.gatewayLog.filter((e) => e.kind === 'closed').slice(closes)[0],
      {
        what: 'the gateway connection to close',
      },
    );
    expect(closed.code).toBe(1000);
    expect(fake.connectedSessions).toBe(0);
    expect(seen.logLines.length).toBeGreaterThan(0);
    expect(seen.logLines.filter((line) => line.includes(fake.token))).toEqual([]);
  });
});

describe('DiscordBot lifecycle', () => {
  it('rejects start() on a wrong token without echoing it, and is stopped', async () => {
    const fake = await FakeDiscord.start();
    const lines: string[] = [];
    const record = (...args: unknown[]) => void lines.push(JSON.stringify(args));
    const bot = new DiscordBot({
      token: 'wrong-token-value',
      restApiBase: fake.restApiBase,
      onVoiceStateUpdate: () => {},
      onGuildAvailable: () => {},
      onInteraction: async () => ({ content: '', ephemeral: true }),
      log: { debug: record, info: record, warn: record, error: record } as DiscordBotLogger,
    });
    try {
      const error = await bot.start().then(
        () => undefined,
        (err: unknown) => err as Error,
      );
      expect(error?.message).toMatch(/^Discord login failed/);
      expect(error?.message).not.toContain('wrong-token-value');
      expect(bot.state).toBe('stopped');
      expect(lines.filter((line) => line.includes('wrong-token-value'))).toEqual([]);
    } finally {
      await bot.stop();
      await fake.stop();
    }
  });

  it('leaves no open handles: a process that starts and stops the bot exits by itself', async () => {
    const script = join(ROOT, 'test/support/fake-discord/bot-lifecycle.ts');
    const result = await new Promise<{ code: number | null; output: string }>((resolve) => {
      execFile(
        join(ROOT, 'node_modules/.bin/tsx'),
        [script],
        { cwd: ROOT, timeout: 30_000, killSignal: 'SIGKILL' },
        (error, stdout, stderr) =>
          resolve({
            code: error ? (typeof error.code === 'number' ? error.code : null) : 0,
            output: stdout + stderr,
          }),
      );
    });
    expect(result.output).toContain('bot-lifecycle: stopped');
    expect(result.code, result.output).toBe(0);
  });
});
