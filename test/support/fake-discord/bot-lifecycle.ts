/**
 * Run as a process by test/integration/discord-bot.test.ts: starts the fake Discord
 * and the bot, waits for the guild snapshot and the command registration, stops both,
 * and then does not call process.exit — the process ends by itself only if the bot
 * left no socket, timer or handle behind.
 */
import { DiscordBot } from '../../../controller/src/modules/attendance/discord/discord-bot.js';
import { FakeDiscord } from './fake-discord.js';

const fake = await FakeDiscord.start({ heartbeatIntervalMs: 500 });
fake.addGuild({
  id: '1',
  name: 'lifecycle',
  channels: [{ id: '2', name: 'voice', type: 2 }],
  members: [{ id: '3', username: 'member' }],
});
fake.voice('1', '3', { channelId: '2' });

let guildAvailable: () => void = () => {};
const available = new Promise<void>((resolve) => {
  guildAvailable = resolve;
});
const quiet = () => {};
const bot = new DiscordBot({
  token: fake.token,
  restApiBase: fake.restApiBase,
  onVoiceStateUpdate: quiet,
  onGuildAvailable: () => guildAvailable(),
  onInteraction: async () => ({ content: '', ephemeral: true }),
  log: { debug: quiet, info: quiet, warn: quiet, error: console.error },
});

await bot.start();
await available;
await fake.waitFor((f) => f.registeredCommands().length > 0, { what: 'command registration' });
await fake.waitFor((f) => f.gatewayLog.some((e) => e.kind === 'sent' && e.op === 11), {
  what: 'a heartbeat ACK',
});
await bot.stop();
await fake.stop();
console.log('bot-lifecycle: stopped');
