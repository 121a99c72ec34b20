/**
 * The controller with a bot token runs the attendance bot: a member's time in voice,
 * seen through the real discord.js client (against the local fake Discord), lands in
 * the guild's leaderboard through the API.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, type TestController, testController } from '../support/controller.js';
import { FakeDiscord } from '../support/fake-discord/fake-discord.js';

const GUILD = '400000000000000001';
const CHANNEL = '400000000000000011';
const ALICE = '400000000000000101';

describe('attendance bot wired into the controller', () => {
  let fake: FakeDiscord;
  let ctl: TestController;
  let nowMs = Date.parse('2026-03-02T10:00:00Z');
  beforeAll(async () => {
    fake = await FakeDiscord.start();
    fake.addGuild({
      id: GUILD,
      name: 'Wiring',
      channels: [{ id: CHANNEL, name: 'Voice', type: 2 }],
      members: [{ id: ALICE, username: 'alice' }],
    });
    ctl = await testController(
      { discordBotToken: fake.token, discordApiBase: fake.restApiBase },
      () => new Date(nowMs),
    );
    await ctl.start();
  });
  afterAll(async () => {
    await ctl?.stop();
    await fake?.stop();
  });

  it('registers the guild and stores the session a member spent in voice', async () => {
    const owner = await ctl.ownerToken();
    const leaderboard = () =>
      ctl.app.inject({ method: 'GET', url: `/api/v1/guilds/${GUILD}/leaderboard`, headers: bearer(owner) });
    await expect.poll(async () => (await leaderboard()).statusCode, { timeout: 20_000 }).toBe(200);
    fake.voice(GUILD, ALICE, { channelId: CHANNEL });
    await expect
      .poll(
        async () =>
          (
            await ctl.app.inject({
              method: 'GET',
              url: `/api/v1/guilds/${GUILD}/analytics/live-occupancy`,
              headers: bearer(owner),
            })
          ).body,
        { timeout: 20_000 },
      )
      .toContain(ALICE);
    nowMs += 90_000;
    fake.voice(GUILD, ALICE, { channelId: null });
    await expect
      .poll(async () => (await leaderboard()).json().data.entries, { timeout: 20_000 })
      .toEqual([expect.objectContaining({ user_id: ALICE, active_seconds: 90, rank: 1 })]);
  });
});
