/**
 * Log destinations end to end: CRUD with validation, guild scope and audit; posts made
 * by the real discord.js bot against the local fake Discord after each commit (one per
 * completed session to `sessions` destinations, one per archived period to `periods`
 * destinations); periodic summaries on the injected clock, never twice (also not by a
 * restarted controller on the same database); and with no bot configured, the routes
 * work and posting is skipped with a log line.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildApp } from '../../controller/src/app.js';
import { guildApi, voiceWebhook } from '../support/api.js';
import { bearer, ownerApiToken, type TestController, testController } from '../support/controller.js';
import { FakeDiscord, type RestCall } from '../support/fake-discord/fake-discord.js';
import { until } from '../support/until.js';

const GUILD = '410000000000000001';
const OTHER_GUILD = '410000000000000002';
const VOICE = '410000000000000011';
const LOGS = '410000000000000012';
const PERIOD_LOGS = '410000000000000013';
const CATEGORY = '410000000000000014';
const NOT_A_CHANNEL = '410000000000000099';
const ALICE = '410000000000000101';
const BOB = '410000000000000102';
const WEBHOOK_SECRET = 'log-destinations-webhook-secret';

const messagesTo = (fake: FakeDiscord, channelId: string): RestCall[] =>
  fake.restCalls.filter((c) => c.method === 'POST' && c.path === `/channels/${channelId}/messages`);
const contentOf = (call: RestCall) => (call.body as { content: string }).content;

describe('log destinations with the Discord bot', () => {
  let fake: FakeDiscord;
  let ctl: TestController;
  let owner: string;
  let nowMs = Date.parse('2026-03-02T10:00:00Z');
  const api = guildApi(
    () => ctl.app,
    () => owner,
    GUILD,
  );
  let sessionsDestination: string;
  let periodsDestination: string;

  beforeAll(async () => {
    fake = await FakeDiscord.start();
    fake.addGuild({
      id: GUILD,
      name: 'Logs',
      channels: [
        { id: CATEGORY, name: 'Category', type: 4 },
        { id: VOICE, name: 'Voice', type: 2 },
        { id: LOGS, name: 'attendance-log', type: 0 },
        { id: PERIOD_LOGS, name: 'period-log', type: 0 },
      ],
      members: [
        { id: ALICE, username: 'alice' },
        { id: BOB, username: 'bob' },
      ],
    });
    ctl = await testController(
      {
        discordBotToken: fake.token,
        discordApiBase: fake.restApiBase,
        attendanceWebhookSecret: WEBHOOK_SECRET,
      },
      () => new Date(nowMs),
    );
    await ctl.start();
    owner = await ownerApiToken(ctl, 'attendance-tests');
    // The bot registers the guild once connected.
    await until(async () => ctl.services.discord.isInGuild(GUILD));
    await until(async () => (await api('GET', '/log-destinations')).statusCode === 200);
    // A guild the bot is not in (its attendance comes from the inbound webhook).
    await ctl.services.attendance.onGuildAvailable(OTHER_GUILD, 'Other', [], null);
  });
  afterAll(async () => {
    await ctl?.stop();
    await fake?.stop();
  });

  it('adds destinations, checking the channel against the guild when the bot is in it', async () => {
    const unknown = await api('POST', '/log-destinations', { channel_id: NOT_A_CHANNEL });
    expect(unknown.statusCode, unknown.body).toBe(400);
    expect(unknown.json().error.message).toContain('not a channel of this guild');
    expect((await api('POST', '/log-destinations', { channel_id: CATEGORY })).statusCode).toBe(400);
    for (const bad of [
      { channel_id: 'abc' },
      { channel_id: LOGS, log_types: ['gossip'] },
      { channel_id: LOGS, log_types: ['sessions', 'sessions'] },
      { channel_id: LOGS, frequency: 'monthly' },
      { channel_id: LOGS, extra: true },
    ])
      expect((await api('POST', '/log-destinations', bad)).statusCode, JSON.stringify(bad)).toBe(400);

    const created = await api('POST', '/log-destinations', { channel_id: LOGS, log_types: ['sessions'] });
    expect(created.statusCode, created.body).toBe(201);
    expect(created.json().data).toMatchObject({
      channel_id: LOGS,
      log_types: ['sessions'],
      frequency: 'off',
      last_summary_at: null,
    });
    sessionsDestination = created.json().data.id;
    const duplicate = await api('POST', '/log-destinations', { channel_id: LOGS });
    expect(duplicate.statusCode).toBe(409);

    const periods = await api('POST', '/log-destinations', {
      channel_id: PERIOD_LOGS,
      log_types: ['periods'],
    });
    expect(periods.statusCode, periods.body).toBe(201);
    periodsDestination = periods.json().data.id;
    const list = (await api('GET', '/log-destinations')).json().data;
    expect(list.map((d: { channel_id: string }) => d.channel_id)).toEqual([LOGS, PERIOD_LOGS]);

    const audit = await ctl.db.auditEvent.findMany({
      where: { action: 'attendance.log_destination.create' },
    });
    expect(audit).toHaveLength(2);
    expect(JSON.parse(audit[0]!.after!)).toMatchObject({ channelId: LOGS, logTypes: ['sessions'] });
  });

  it('posts one message per completed session to sessions destinations only', async () => {
    fake.voice(GUILD, ALICE, { channelId: VOICE });
    await expect.poll(() => ctl.services.attendance.openSessions(GUILD).length, { timeout: 20_000 }).toBe(1);
    nowMs += 125_000;
    fake.voice(GUILD, ALICE, { channelId: null });
    await expect
      .poll(() => ctl.db.voiceSession.count({ where: { guildId: GUILD } }), { timeout: 20_000 })
      .toBe(1);
    await ctl.services.attendanceEvents.idle();
    const posted = await fake.waitFor((f) => messagesTo(f, LOGS).length === 1 && messagesTo(f, LOGS));
    expect(contentOf(posted[0]!)).toBe(
      `Session: <@${ALICE}> spent 2m 05s in <#${VOICE}>; not signed yet (signed when the key is unlocked).`,
    );
    expect(posted[0]!.body).toMatchObject({ allowed_mentions: { parse: [] } });
    expect(messagesTo(fake, PERIOD_LOGS)).toHaveLength(0);
  });

  it('posts the archived period with the top of its leaderboard to periods destinations', async () => {
    fake.voice(GUILD, BOB, { channelId: VOICE });
    await expect.poll(() => ctl.services.attendance.openSessions(GUILD).length, { timeout: 20_000 }).toBe(1);
    nowMs += 3_723_000;
    const reset = await api('POST', '/reset-now');
    expect(reset.statusCode, reset.body).toBe(200);
    await ctl.services.attendanceEvents.idle();
    const posted = await fake.waitFor(
      (f) => messagesTo(f, PERIOD_LOGS).length === 1 && messagesTo(f, PERIOD_LOGS),
    );
    // The period started when the guild was registered (the database's clock); it ends on ours.
    const [head, ...top] = contentOf(posted[0]!).split('\n');
    expect(head).toMatch(
      /^Period 0 archived \(.+ UTC to 2026-03-02 11:04 UTC\): 2 sessions, not signed yet\.$/,
    );
    expect(top).toEqual(['Top members:', `1. <@${BOB}> 1h 02m 03s`, `2. <@${ALICE}> 2m 05s`]);
    // Bob's session closed by the reset went to the sessions destination, once.
    expect(messagesTo(fake, LOGS).map(contentOf)).toEqual([
      expect.stringContaining(`<@${ALICE}>`),
      expect.stringContaining(`<@${BOB}> spent 1h 02m 03s`),
    ]);
    nowMs += 60_000;
    fake.voice(GUILD, BOB, { channelId: null });
    await expect
      .poll(() => ctl.db.voiceSession.count({ where: { guildId: GUILD } }), { timeout: 20_000 })
      .toBe(3);
    await ctl.services.attendanceEvents.idle();
  });

  it('edits log types and frequency; 404 for another guild or an unknown id', async () => {
    const types = await api('PATCH', `/log-destinations/${periodsDestination}/types`, {
      log_type: 'summary',
      enabled: true,
    });
    expect(types.statusCode, types.body).toBe(200);
    expect(types.json().data.log_types).toEqual(['periods', 'summary']);
    const off = await api('PATCH', `/log-destinations/${periodsDestination}/types`, {
      log_type: 'periods',
      enabled: false,
    });
    expect(off.json().data.log_types).toEqual(['summary']);
    expect(
      (await api('PATCH', `/log-destinations/${periodsDestination}/types`, { log_type: 'x', enabled: true }))
        .statusCode,
    ).toBe(400);
    expect(
      (await api('PATCH', `/log-destinations/${periodsDestination}/frequency`, { frequency: 'yearly' }))
        .statusCode,
    ).toBe(400);
    // The same destination id under another guild is not found.
    for (const [method, path, payload] of [
      ['DELETE', `/log-destinations/${periodsDestination}`, undefined],
      ['PATCH', `/log-destinations/${periodsDestination}/frequency`, { frequency: 'daily' }],
      ['PATCH', `/log-destinations/${periodsDestination}/types`, { log_type: 'sessions', enabled: true }],
    ] as const)
      expect((await api(method, path, payload, OTHER_GUILD)).statusCode, `${method} ${path}`).toBe(404);
    expect((await api('DELETE', '/log-destinations/00000000-0000-4000-8000-000000000000')).statusCode).toBe(
      404,
    );
    expect((await api('DELETE', '/log-destinations/not-a-uuid')).statusCode).toBe(400);
    const audit = await ctl.db.auditEvent.findMany({
      where: { action: 'attendance.log_destination.types.update' },
      orderBy: { seq: 'asc' },
    });
    expect(audit.map((e) => [JSON.parse(e.before!).logTypes, JSON.parse(e.after!).logTypes])).toEqual([
      [['periods'], ['periods', 'summary']],
      [['periods', 'summary'], ['summary']],
    ]);
  });

  it('posts the summary at each daily boundary in the guild time zone, once, also across a restart', async () => {
    // 2026-03-02 11:05 UTC; the guild's days start at midnight in Berlin (23:00 UTC in March).
    await ctl.db.guild.update({ where: { id: GUILD }, data: { timeZone: 'Europe/Berlin' } });
    const daily = await api('PATCH', `/log-destinations/${periodsDestination}/frequency`, {
      frequency: 'daily',
    });
    expect(daily.statusCode, daily.body).toBe(200);
    expect(daily.json().data).toMatchObject({
      frequency: 'daily',
      last_summary_at: new Date(nowMs).toISOString(),
    });
    const summaries = () =>
      messagesTo(fake, PERIOD_LOGS).filter((c) => contentOf(c).startsWith('Daily summary'));

    expect(await ctl.services.attendanceLogs.runDueSummaries()).toBe(0);
    nowMs = Date.parse('2026-03-02T22:59:00Z');
    expect(await ctl.services.attendanceLogs.runDueSummaries()).toBe(0);
    nowMs = Date.parse('2026-03-02T23:00:30Z');
    expect(await ctl.services.attendanceLogs.runDueSummaries()).toBe(1);
    const posted = await fake.waitFor(() => summaries().length === 1 && summaries(), { what: 'a summary' });
    expect(contentOf(posted[0]!)).toBe(
      ['Daily summary, period 1: leaderboard', `1. <@${BOB}> 1m 00s`].join('\n'),
    );
    expect(await ctl.services.attendanceLogs.runDueSummaries()).toBe(0);

    // A restarted controller (a second app on the same database) finds it already posted.
    const restarted = await buildApp({
      config: { ...ctl.config, discordBotToken: undefined },
      db: ctl.db,
      provider: ctl.target.provider,
      now: () => new Date(nowMs),
      logger: false,
    });
    try {
      expect(await restarted.services.attendanceLogs.runDueSummaries()).toBe(0);
    } finally {
      await restarted.close();
    }
    nowMs = Date.parse('2026-03-03T22:00:00Z');
    expect(await ctl.services.attendanceLogs.runDueSummaries()).toBe(0);
    nowMs = Date.parse('2026-03-03T23:00:00Z');
    expect(await ctl.services.attendanceLogs.runDueSummaries()).toBe(1);
    await fake.waitFor(() => summaries().length === 2, { what: 'the second summary' });
    const row = await ctl.db.logDestination.findUniqueOrThrow({ where: { id: periodsDestination } });
    expect(row.lastSummaryAt?.toISOString()).toBe('2026-03-03T23:00:00.000Z');
  });

  it('counts and logs a failed post without touching the stored session', async () => {
    // The bot is not in OTHER_GUILD: the channel is accepted as given, and Discord refuses it.
    const created = await api('POST', '/log-destinations', { channel_id: NOT_A_CHANNEL }, OTHER_GUILD);
    expect(created.statusCode, created.body).toBe(201);
    const failedBefore = await counter(ctl, 'sessions', 'failed');
    const hook = (channelId: string | null) =>
      voiceWebhook(ctl.app, WEBHOOK_SECRET, OTHER_GUILD, ALICE, channelId);
    expect((await hook(VOICE)).statusCode).toBe(200);
    nowMs += 60_000;
    expect((await hook(null)).json().data.stored).toBe(1);
    await ctl.services.attendanceEvents.idle();
    await fake.waitFor((f) => messagesTo(f, NOT_A_CHANNEL).some((c) => c.status === 404), {
      what: 'the refused post',
    });
    expect(await counter(ctl, 'sessions', 'failed')).toBe(failedBefore + 1);
    expect(await ctl.db.voiceSession.count({ where: { guildId: OTHER_GUILD } })).toBe(1);
  });

  it('deletes a destination (audited); nothing more is posted there', async () => {
    const removed = await api('DELETE', `/log-destinations/${sessionsDestination}`);
    expect(removed.statusCode).toBe(204);
    expect((await api('DELETE', `/log-destinations/${sessionsDestination}`)).statusCode).toBe(404);
    const audit = await ctl.db.auditEvent.findFirstOrThrow({
      where: { action: 'attendance.log_destination.delete' },
    });
    expect(JSON.parse(audit.before!)).toMatchObject({ destinationId: sessionsDestination, channelId: LOGS });
    expect(JSON.parse(audit.after ?? 'null')).toBeNull();
    const before = messagesTo(fake, LOGS).length;
    fake.voice(GUILD, ALICE, { channelId: VOICE });
    await expect.poll(() => ctl.services.attendance.openSessions(GUILD).length, { timeout: 20_000 }).toBe(1);
    nowMs += 30_000;
    fake.voice(GUILD, ALICE, { channelId: null });
    await expect
      .poll(() => ctl.db.voiceSession.count({ where: { guildId: GUILD } }), { timeout: 20_000 })
      .toBe(4);
    await ctl.services.attendanceEvents.idle();
    expect(messagesTo(fake, LOGS)).toHaveLength(before);
  });
});

async function counter(ctl: TestController, logType: string, outcome: string): Promise<number> {
  const metric = await ctl.metrics.attendanceLogPosts.get();
  return metric.values.find((v) => v.labels.log_type === logType && v.labels.outcome === outcome)?.value ?? 0;
}

describe('log destinations without a Discord bot', () => {
  let ctl: TestController;
  let owner: string;
  let nowMs = Date.parse('2026-03-02T10:00:00Z');

  beforeAll(async () => {
    ctl = await testController({ attendanceWebhookSecret: WEBHOOK_SECRET }, () => new Date(nowMs));
    owner = await ctl.ownerToken();
    await ctl.services.attendance.onGuildAvailable(GUILD, 'No bot', [], null);
  });
  afterAll(async () => ctl.stop());

  it('accepts any channel, and skips posting with a log line', async () => {
    const created = await ctl.app.inject({
      method: 'POST',
      url: `/api/v1/guilds/${GUILD}/log-destinations`,
      headers: bearer(owner),
      payload: { channel_id: NOT_A_CHANNEL, frequency: 'hourly' },
    });
    expect(created.statusCode, created.body).toBe(201);
    expect(created.json().data.log_types).toEqual(['sessions', 'periods', 'summary']);
    const info = vi.spyOn(ctl.app.log, 'info');
    const hook = (channelId: string | null) => voiceWebhook(ctl.app, WEBHOOK_SECRET, GUILD, ALICE, channelId);
    await hook(VOICE);
    nowMs += 60_000;
    expect((await hook(null)).json().data.stored).toBe(1);
    await ctl.services.attendanceEvents.idle();
    expect(info).toHaveBeenCalledWith(
      expect.objectContaining({ guildId: GUILD, channelId: NOT_A_CHANNEL, logType: 'sessions' }),
      expect.stringContaining('skipped: no Discord bot is configured'),
    );
    expect(await counter(ctl, 'sessions', 'skipped')).toBe(1);
    // The summary is claimed and skipped too: it is not retried every tick.
    nowMs = Date.parse('2026-03-02T11:00:00Z');
    expect(await ctl.services.attendanceLogs.runDueSummaries()).toBe(1);
    expect(await counter(ctl, 'summary', 'skipped')).toBe(1);
    expect(await ctl.services.attendanceLogs.runDueSummaries()).toBe(0);
    info.mockRestore();
  });
});
