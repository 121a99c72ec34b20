/**
 * Runs the Discord bot when a token is configured and feeds the attendance service:
 * guilds (re)appearing are registered and reconciled, voice changes go through the
 * tracker, and while the gateway is connected open sessions are observed and saved
 * every 30 s so a restart can reconcile them. Slash commands answer from the service.
 */
import type { AttendanceService } from '../sessions.service.js';
import type { VoiceTracker } from '../tracker/voice-tracker.js';
import type { AttendanceCommand, CommandReply } from './bot-commands.js';
import { DiscordBot, type DiscordBotLogger, type DiscordBotState } from './discord-bot.js';
import { type DiscordPort, discordUnavailable, type GuildChannelInfo } from './discord-port.js';

const HEARTBEAT_MS = 30_000;

export interface AttendanceBotOptions {
  token: string;
  restApiBase?: string;
  attendance: AttendanceService;
  tracker: VoiceTracker;
  now: () => Date;
  answer: (command: AttendanceCommand) => Promise<CommandReply>;
  log: DiscordBotLogger;
}

export class AttendanceBot implements DiscordPort {
  readonly enabled = true;

  private bot: DiscordBot | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private current: DiscordBotState = 'stopped';

  constructor(private readonly options: AttendanceBotOptions) {}

  get state(): DiscordBotState {
    return this.current;
  }

  /** Starts connecting in the background: a Discord outage must not stop the controller. */
  start(): void {
    const { attendance, log } = this.options;
    this.bot = new DiscordBot({
      token: this.options.token,
      restApiBase: this.options.restApiBase,
      log,
      onVoiceStateUpdate: (guildId, before, after) => attendance.voiceStateUpdate(guildId, before, after),
      // The gateway's guild object carries the name, but the adapter passes ids only; the id names it until renamed.
      onGuildAvailable: (guildId, states, afkChannelId) =>
        attendance.onGuildAvailable(guildId, guildId, states, afkChannelId),
      onInteraction: (command) => this.options.answer(command),
      onStateChange: (state) => this.stateChanged(state),
    });
    this.bot
      .start()
      .catch((error: unknown) => log.error({ err: (error as Error).message }, 'Discord bot did not start'));
  }

  isInGuild(guildId: string): boolean {
    return this.current === 'ready' && (this.bot?.isInGuild(guildId) ?? false);
  }

  listChannels(guildId: string): GuildChannelInfo[] {
    const channels = this.current === 'ready' ? this.bot?.listChannels(guildId) : undefined;
    if (!channels) throw discordUnavailable('Listing channels');
    return channels;
  }

  postMessage(channelId: string, content: string): Promise<void> {
    return this.connected('Posting a message').postMessage(channelId, content);
  }

  setMemberRole(
    guildId: string,
    userId: string,
    roleId: string,
    granted: boolean,
    reason?: string,
  ): Promise<void> {
    return this.connected('Granting a role').setMemberRole(guildId, userId, roleId, granted, reason);
  }

  canManageGuild(guildId: string, userId: string): Promise<boolean> {
    return this.connected('Checking Manage Server').canManageGuild(guildId, userId);
  }

  private connected(what: string): DiscordBot {
    if (!this.bot || this.current === 'stopped') throw discordUnavailable(what);
    return this.bot;
  }

  private stateChanged(state: DiscordBotState): void {
    this.current = state;
    if (state === 'ready' && !this.heartbeat) {
      this.heartbeat = setInterval(() => void this.observe(), HEARTBEAT_MS);
      this.heartbeat.unref();
    } else if (state !== 'ready' && this.heartbeat) {
      clearInterval(this.heartbeat);
      this.heartbeat = undefined;
    }
  }

  private async observe(): Promise<void> {
    this.options.tracker.heartbeat(this.options.now().getTime());
    await this.options.attendance
      .saveSnapshot()
      .catch((error: unknown) =>
        this.options.log.error({ err: (error as Error).message }, 'saving open sessions failed'),
      );
  }

  async stop(): Promise<void> {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
    const wasReady = this.current === 'ready';
    await this.bot?.stop();
    // The sessions stay open in the saved snapshot; a quick restart continues them.
    if (wasReady) this.options.tracker.heartbeat(this.options.now().getTime());
    this.current = 'stopped';
  }
}
