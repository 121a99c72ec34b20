/**
 * Runs the Discord bot when a token is configured, and is the services' `DiscordPort`.
 * Everything the gateway says about voice reaches the tracker through one path, the
 * `AttendanceBridge`: guilds (re)appearing are registered (real name, bot present),
 * configured and reconciled; voice changes go through the tracker; while the gateway
 * is up open sessions are observed and saved every 30 s so a restart can reconcile
 * them; settings changes are applied through the bridge while it runs. Slash commands
 * are answered from the services and counted (database and metrics).
 */
import type { Metrics } from '../../../metrics.js';
import type { MemberNamesService } from '../members/member-names.service.js';
import type { AttendanceService } from '../tracking/sessions.service.js';
import { UNCONFIGURED_SETTINGS } from '../tracking/tracker.types.js';
import type { VoiceTracker } from '../tracking/voice-tracker.js';
import { AttendanceBridge } from './attendance-bridge.js';
import type { AttendanceCommand, CommandReply } from './bot-commands.js';
import {
  type CommandAnswered,
  DiscordBot,
  type DiscordBotLogger,
  type DiscordBotState,
} from './discord-bot.js';
import {
  type DiscordPort,
  discordGuildUnavailable,
  discordNotInGuild,
  discordUnavailable,
  type GuildChannelInfo,
} from './discord-port.js';
import { RestManageServerCheck } from './manage-server-rest.js';

export interface AttendanceBotOptions {
  token: string;
  restApiBase?: string;
  attendance: AttendanceService;
  /** The process's one tracker (the one `attendance` stores from). */
  tracker: VoiceTracker;
  /** Where the names the voice states carry are kept. */
  members?: Pick<MemberNamesService, 'seen'>;
  now: () => Date;
  metrics?: Pick<Metrics, 'discordCommands'>;
  /** Default 30 000 (the bridge's). */
  heartbeatIntervalMs?: number;
  log: DiscordBotLogger;
}

export class AttendanceBot implements DiscordPort {
  readonly enabled = true;

  private bot: DiscordBot | undefined;
  private restCheck: RestManageServerCheck | undefined;
  private bridge: AttendanceBridge | undefined;
  private answer?: (command: AttendanceCommand) => Promise<CommandReply>;
  private readonly stateListeners = new Set<(state: DiscordBotState) => void>();

  constructor(private readonly options: AttendanceBotOptions) {}

  /**
   * Who answers members' slash commands (the stats, which also show this bot's state: so
   * the answerer is handed over once both exist, before the bot starts).
   */
  answerCommandsWith(answer: (command: AttendanceCommand) => Promise<CommandReply>): void {
    this.answer = answer;
  }

  get state(): DiscordBotState {
    return this.bot?.state ?? 'stopped';
  }

  onStateChange(listener: (state: DiscordBotState) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  /**
   * Starts the bridge, then connects in the background: a Discord outage must not stop
   * the controller. Call after the saved open sessions are restored. `fence` is the leader's
   * lease: asked before each IDENTIFY, event, slash command, heartbeat and snapshot.
   */
  async start(fence?: { holds(): boolean; unexpired(): boolean }): Promise<void> {
    if (this.bot) return;
    const { attendance, tracker, members, log } = this.options;
    const bridge = new AttendanceBridge({
      tracker,
      now: () => this.options.now().getTime(),
      registerGuild: (guild) => attendance.registerGuild(guild),
      settingsFor: async (guildId) => (await attendance.settingsFor(guildId)) ?? UNCONFIGURED_SETTINGS,
      onClosed: async (closed) => {
        await attendance.applyClosed(closed);
      },
      onSnapshot: async (snapshot) => {
        await attendance.saveSnapshotOf(snapshot);
      },
      onGuildRemoved: (guildId) => attendance.botRemoved(guildId),
      ...(members ? { onMembersSeen: (guildId, seen) => members.seen(guildId, seen) } : {}),
      heartbeatIntervalMs: this.options.heartbeatIntervalMs,
      ...(fence ? { fence } : {}),
      log,
    });
    const callbacks = bridge.botCallbacks();
    const bot = new DiscordBot({
      token: this.options.token,
      restApiBase: this.options.restApiBase,
      log,
      ...(fence ? { mayAct: () => fence.holds() } : {}),
      ...callbacks,
      onStateChange: (state) => {
        callbacks.onStateChange?.(state);
        for (const listener of this.stateListeners) listener(state);
      },
      onInteraction: (command) => {
        if (!this.answer) throw new Error('slash commands are answered once the attendance module is wired');
        return this.answer(command);
      },
      onCommandAnswered: (answered) => this.commandAnswered(answered),
    });
    this.bridge = bridge;
    this.bot = bot;
    await bridge.start();
    attendance.followSettingsThrough((guildId) => bridge.applySettings(guildId));
    bot
      .start()
      .catch((error: unknown) => log.error({ err: (error as Error).message }, 'Discord bot did not start'));
  }

  /** The bot first (its callbacks under way finish), then the bridge: a last observation and the snapshot. */
  async stop(): Promise<void> {
    const { bot, bridge } = this;
    await bot?.stop();
    this.options.attendance.followSettingsThrough(undefined);
    // The sessions stay open in the saved snapshot; a quick restart continues them.
    await bridge?.stop();
    if (this.bot === bot) this.bot = undefined;
    if (this.bridge === bridge) this.bridge = undefined;
  }

  isInGuild(guildId: string): boolean {
    return this.state === 'ready' && this.bot?.guildStatus(guildId) === 'available';
  }

  guildCount(): number {
    return this.bot?.guildCount() ?? 0;
  }

  listChannels(guildId: string): GuildChannelInfo[] {
    const bot = this.bot;
    if (!bot || this.state !== 'ready') throw discordUnavailable('Listing channels');
    const status = bot.guildStatus(guildId);
    if (status === 'absent') throw discordNotInGuild();
    const channels = status === 'available' ? bot.listChannels(guildId) : undefined;
    if (!channels) throw discordGuildUnavailable();
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

  /**
   * The running bot answers from its gateway session; without one (a follower replica: the
   * leader runs the bot; or the bot not connected yet) Discord's REST API is asked with the token.
   */
  canManageGuild(guildId: string, userId: string): Promise<boolean> {
    if (this.bot && this.state !== 'stopped') return this.bot.canManageGuild(guildId, userId);
    this.restCheck ??= new RestManageServerCheck(this.options.token, this.options.restApiBase);
    return this.restCheck.canManageGuild(guildId, userId);
  }

  private connected(what: string): DiscordBot {
    if (!this.bot || this.state === 'stopped') throw discordUnavailable(what);
    return this.bot;
  }

  private async commandAnswered({ command, guildId, outcome }: CommandAnswered): Promise<void> {
    this.options.metrics?.discordCommands.inc({ command, outcome });
    if (guildId !== null && command !== 'other')
      await this.options.attendance.recordCommandUsage(guildId, command);
  }
}
