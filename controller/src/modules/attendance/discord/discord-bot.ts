/**
 * The Discord bot: an adapter between discord.js and the attendance services. It
 * turns gateway events into plain values (Discord ids as strings, no discord.js
 * objects) and hands them to callbacks the composition root wires to the services;
 * it registers the members' slash commands and sends back the replies the services
 * compose. `start()` / `stop()`; the constructor only assigns (nothing connects before `start()`).
 *
 * Voice events and guild-available snapshots reach the callbacks one at a time, in
 * gateway order, even when a callback is async: the tracker depends on that order.
 *
 * discord.js does not emit voiceStateUpdate for changes missed while the session was
 * gone. After a RESUME Discord replays them; after a fresh IDENTIFY it does not, and
 * the guild's GUILD_CREATE (→ onGuildAvailable) is the only account of the present —
 * which is why every guild-available carries the full list of voice states.
 */
import { setTimeout as delay } from 'node:timers/promises';
import {
  ChannelType,
  type ChatInputCommandInteraction,
  Client,
  type ClientEvents,
  type ClientOptions,
  DiscordAPIError,
  Events,
  GatewayIntentBits,
  type Guild,
  type Interaction,
  MessageFlags,
  PermissionFlagsBits,
  RESTJSONErrorCodes,
  Routes,
  type VoiceState,
} from 'discord.js';
import type { Logger } from '../../../core/logger.js';
import type { VoiceStateInput } from '../tracking/tracker.types.js';
import {
  type AttendanceCommand,
  type AttendanceCommandName,
  attendanceCommandRegistrations,
  type CommandReply,
  parseAttendanceCommand,
} from './bot-commands.js';
import type { GuildChannelInfo } from './discord-port.js';

/** A member's voice state: the tracker's input type, under the name the bot's callers know. */
export type BotVoiceState = VoiceStateInput;

/** For the health view: `reconnecting` covers a dropped connection until RESUMED or a new READY. */
export type DiscordBotState = 'stopped' | 'connecting' | 'ready' | 'reconnecting';

export type DiscordBotLogger = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;

/** How a slash command ended: answered by the handler, answered with an apology, or refused (not ours / not in a guild). */
export type CommandOutcome = 'answered' | 'failed' | 'refused';

/** One slash command the bot replied to. `command` is one of ours, or `other`. */
export interface CommandAnswered {
  command: AttendanceCommandName | 'other';
  guildId: string | null;
  outcome: CommandOutcome;
}

export interface DiscordBotOptions {
  /** The bot token. Never logged. */
  token: string;
  /** REST base without the version, e.g. `http://127.0.0.1:4000/api` (tests); Discord's when omitted. */
  restApiBase?: string;
  /** A member's voice state changed; null before = was not in voice, null after = left voice. */
  onVoiceStateUpdate(guildId: string, before: BotVoiceState | null, after: BotVoiceState | null): unknown;
  /**
   * A guild (re)appeared with everyone now in voice: at login, after a re-identify, or on
   * joining it; `name` is the guild's name as Discord has it now.
   */
  onGuildAvailable(
    guildId: string,
    voiceStates: BotVoiceState[],
    afkChannelId: string | null,
    name: string,
  ): unknown;
  /** The bot left or was removed from the guild (GUILD_DELETE without `unavailable`; not an outage). */
  onGuildRemoved?(guildId: string): unknown;
  /** A gateway session is ready with its guilds: at login and after every re-identify (not after a RESUME). */
  onReady?(): unknown;
  /** A member ran one of our slash commands; the reply is sent back as the interaction response. */
  onInteraction(command: AttendanceCommand): Promise<CommandReply>;
  /** After every slash command reply (usage counts); awaited before `stop()` resolves, failures logged. */
  onCommandAnswered?(answered: CommandAnswered): unknown;
  /** Every change of `state` (for a health gauge); called synchronously, so keep it cheap. */
  onStateChange?(state: DiscordBotState): void;
  /**
   * Asked before each IDENTIFY, each event handed to the callbacks and each slash command
   * answered (the leader's lease, cluster/leader-election.ts): once it says no, the bot does
   * nothing more (an IDENTIFY waits until `stop()`). Omitted: always yes.
   */
  mayAct?(): boolean;
  log: DiscordBotLogger;
}

/** Discord lets one shard IDENTIFY once per 5 s. */
const IDENTIFY_SPACING_MS = 5_000;

/**
 * The gateway's identify throttle (one shard): IDENTIFYs 5 s apart, and none once `mayAct`
 * says no: that one waits until the client closes (the shard's abort signal).
 */
function fencedIdentifies(mayAct: () => boolean) {
  let nextAt = 0;
  return {
    async waitForIdentify(_shardId: number, signal: AbortSignal): Promise<void> {
      const waitMs = nextAt - Date.now();
      if (waitMs > 0) await delay(waitMs, undefined, { signal });
      if (!mayAct())
        await new Promise<never>((_, reject) => {
          if (signal.aborted) reject(signal.reason);
          signal.addEventListener('abort', () => reject(signal.reason), { once: true });
        });
      nextAt = Date.now() + IDENTIFY_SPACING_MS;
    },
  };
}

/** Guild presence and voice states are all the bot reads; no privileged intents. */
const INTENTS = [GatewayIntentBits.Guilds, GatewayIntentBits.GuildVoiceStates];

const CHANNEL_TYPES: Partial<Record<ChannelType, string>> = {
  [ChannelType.GuildText]: 'text',
  [ChannelType.GuildVoice]: 'voice',
  [ChannelType.GuildStageVoice]: 'stage',
  [ChannelType.GuildCategory]: 'category',
  [ChannelType.GuildAnnouncement]: 'announcement',
  [ChannelType.GuildForum]: 'forum',
};

const NOT_A_MEMBER = new Set<unknown>([RESTJSONErrorCodes.UnknownMember, RESTJSONErrorCodes.UnknownUser]);

const FAILED_REPLY = 'Sorry, that did not work. Please try again later.';
const NOT_HERE_REPLY = 'This command works only in a server where attendance is tracked.';

export class DiscordBot {
  private client: Client | undefined;
  private currentState: DiscordBotState = 'stopped';
  /** Voice and guild events, chained so callbacks run one at a time in arrival order. */
  private queue: Promise<void> = Promise.resolve();
  private readonly replies = new Set<Promise<void>>();
  private stopping: Promise<void> | undefined;
  private cancelStart: (() => void) | undefined;

  constructor(private readonly options: DiscordBotOptions) {}

  get state(): DiscordBotState {
    return this.currentState;
  }

  private readonly mayAct = (): boolean => this.options.mayAct?.() ?? true;

  /** Logs in and resolves once the gateway session is READY; rejects if login fails. */
  async start(): Promise<void> {
    if (this.client) return;
    this.stopping = undefined;
    const clientOptions: ClientOptions = {
      intents: INTENTS,
      // Replies never ping anyone, whatever a name in them looks like.
      allowedMentions: { parse: [] },
      ...(this.options.restApiBase ? { rest: { api: this.options.restApiBase } } : {}),
      ...(this.options.mayAct ? { ws: { buildIdentifyThrottler: () => fencedIdentifies(this.mayAct) } } : {}),
    };
    const client = new Client(clientOptions);
    this.client = client;
    this.attach(client);
    this.setState('connecting');
    const cancelled = new Promise<'cancelled'>((resolve) => {
      this.cancelStart = () => resolve('cancelled');
    });
    try {
      // A stop() during login destroys the client, after which login() may never settle.
      await Promise.race([client.login(this.options.token), cancelled]);
    } catch (err) {
      this.client = undefined;
      this.setState('stopped');
      await client.destroy().catch(() => {});
      throw new Error(`Discord login failed: ${describeError(err).message}`);
    } finally {
      this.cancelStart = undefined;
    }
  }

  /** Closes the gateway session, then waits for callbacks and replies already under way. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    this.setState('stopped');
    this.cancelStart?.();
    if (!client) return;
    await client.destroy();
    await this.queue;
    await Promise.allSettled([...this.replies]);
  }

  /** Posts a message in a channel (log destinations); mentions in it never ping. */
  async postMessage(channelId: string, content: string): Promise<void> {
    await this.runningClient().rest.post(Routes.channelMessages(channelId), {
      body: { content, allowed_mentions: { parse: [] } },
    });
  }

  /** Grants (`granted`) or removes a member's role (verified roles); `reason` goes to the audit log. */
  async setMemberRole(
    guildId: string,
    userId: string,
    roleId: string,
    granted: boolean,
    reason?: string,
  ): Promise<void> {
    const { rest } = this.runningClient();
    const route = Routes.guildMemberRole(guildId, userId, roleId);
    await (granted ? rest.put(route, { reason }) : rest.delete(route, { reason }));
  }

  /** Whether the user owns the guild or has Manage Server (or Administrator) there; false for a non-member. */
  async canManageGuild(guildId: string, userId: string): Promise<boolean> {
    const guild = this.runningClient().guilds.cache.get(guildId);
    if (!guild?.available) return false;
    try {
      const member = await guild.members.fetch({ user: userId, force: true });
      return member.permissions.has(PermissionFlagsBits.ManageGuild);
    } catch (err) {
      if (err instanceof DiscordAPIError && NOT_A_MEMBER.has(err.code)) return false;
      throw err;
    }
  }

  /** Whether the gateway lists the guild as ours, and whether Discord has it available (not in an outage). */
  guildStatus(guildId: string): 'absent' | 'unavailable' | 'available' {
    const guild = this.client?.guilds.cache.get(guildId);
    if (!guild) return 'absent';
    return guild.available ? 'available' : 'unavailable';
  }

  /** How many guilds the bot is in (from the gateway's cache); 0 when not running. */
  guildCount(): number {
    return this.client?.guilds.cache.size ?? 0;
  }

  /** Whether the bot is in the guild and the guild is available (from the gateway's cache). */
  isInGuild(guildId: string): boolean {
    return this.client?.guilds.cache.get(guildId)?.available ?? false;
  }

  /** The guild's channels from the gateway's cache, in Discord's display order; throws when not running. */
  listChannels(guildId: string): GuildChannelInfo[] | undefined {
    const guild = this.runningClient().guilds.cache.get(guildId);
    if (!guild?.available) return undefined;
    return [...guild.channels.cache.values()]
      .map((channel) => ({
        id: channel.id,
        name: channel.name,
        type: CHANNEL_TYPES[channel.type] ?? 'other',
        parentId: channel.parentId,
        position: 'position' in channel ? channel.position : 0,
      }))
      .sort((a, b) => a.position - b.position || a.id.localeCompare(b.id));
  }

  private runningClient(): Client {
    if (!this.client) throw new Error('the Discord bot is not running');
    return this.client;
  }

  private attach(client: Client): void {
    const { log } = this.options;
    // Events from a client being stopped (or replaced) are not the services' business.
    const on = <E extends keyof ClientEvents>(event: E, listener: (...args: ClientEvents[E]) => void) => {
      client.on(event, (...args) => {
        if (this.client === client) listener(...args);
      });
    };
    on(Events.ClientReady, (ready) => {
      log.info({ botUserId: ready.user.id, guilds: ready.guilds.cache.size }, 'Discord bot ready');
      void this.registerCommands(ready);
    });
    on(Events.ShardReady, () => {
      this.setState('ready');
      if (this.options.onReady) this.enqueue('ready', () => this.options.onReady?.());
    });
    on(Events.ShardResume, (_shardId, replayedEvents) => {
      this.setState('ready');
      log.info({ replayedEvents }, 'Discord gateway session resumed');
    });
    on(Events.ShardReconnecting, () => {
      this.setState('reconnecting');
      log.warn('Discord gateway connection lost; reconnecting');
    });
    on(Events.ShardDisconnect, (event) => {
      // Only for close codes discord.js will not recover from (bad token, disallowed intents…).
      this.setState('stopped');
      log.error({ closeCode: event.code }, 'Discord gateway closed the session for good');
    });
    on(Events.ShardError, (err) => log.warn({ err: describeError(err) }, 'Discord gateway error'));
    on(Events.Error, (err) => log.error({ err: describeError(err) }, 'Discord client error'));
    on(Events.Warn, (message) => log.warn({ message }, 'Discord client warning'));
    on(Events.GuildAvailable, (guild) => this.guildAvailable(guild));
    on(Events.GuildCreate, (guild) => this.guildAvailable(guild));
    on(Events.GuildUnavailable, (guild) => log.warn({ guildId: guild.id }, 'Discord guild unavailable'));
    // discord.js emits GuildDelete only when the bot is no longer a member (an outage is GuildUnavailable).
    on(Events.GuildDelete, (guild) => this.guildRemoved(guild.id));
    on(Events.VoiceStateUpdate, (before, after) => this.voiceStateUpdate(before, after));
    on(Events.InteractionCreate, (interaction) => this.interaction(interaction));
  }

  private guildAvailable(guild: Guild): void {
    const voiceStates: BotVoiceState[] = [];
    for (const state of guild.voiceStates.cache.values()) {
      const mapped = toBotVoiceState(state);
      if (mapped) voiceStates.push(mapped);
    }
    const { id, afkChannelId, name } = guild;
    this.enqueue('guild available', () => this.options.onGuildAvailable(id, voiceStates, afkChannelId, name));
  }

  private guildRemoved(guildId: string): void {
    this.options.log.info({ guildId }, 'Discord bot removed from a guild');
    const { onGuildRemoved } = this.options;
    if (onGuildRemoved) this.enqueue('guild removed', () => onGuildRemoved(guildId));
  }

  private voiceStateUpdate(beforeState: VoiceState, afterState: VoiceState): void {
    const before = toBotVoiceState(beforeState);
    const after = toBotVoiceState(afterState);
    // Camera, stream and suppress toggles change nothing the tracker reads.
    if (sameVoiceState(before, after)) return;
    const guildId = afterState.guild.id;
    this.enqueue('voice state update', () => this.options.onVoiceStateUpdate(guildId, before, after));
  }

  private enqueue(what: string, task: () => unknown): void {
    if (!this.client || !this.mayAct()) return;
    this.queue = this.queue
      .then(() => (this.mayAct() ? task() : undefined))
      .then(
        () => undefined,
        (err: unknown) =>
          this.options.log.error({ err: describeError(err) }, `Discord ${what} handler failed`),
      );
  }

  private async registerCommands(client: Client<true>): Promise<void> {
    try {
      await client.application.commands.set(attendanceCommandRegistrations());
      this.options.log.info('Discord slash commands registered');
    } catch (err) {
      this.options.log.warn({ err: describeError(err) }, 'registering Discord slash commands failed');
    }
  }

  private interaction(interaction: Interaction): void {
    if (!interaction.isChatInputCommand() || !this.mayAct()) return;
    const reply = this.answer(interaction).finally(() => this.replies.delete(reply));
    this.replies.add(reply);
  }

  private async answer(interaction: ChatInputCommandInteraction): Promise<void> {
    const { log } = this.options;
    const command = parseAttendanceCommand(interaction);
    let reply: CommandReply;
    let outcome: CommandOutcome = 'answered';
    if (!command) {
      reply = { content: NOT_HERE_REPLY, ephemeral: true };
      outcome = 'refused';
    } else {
      try {
        reply = await this.options.onInteraction(command);
      } catch (err) {
        log.error({ err: describeError(err), command: command.name }, 'Discord command handler failed');
        reply = { content: FAILED_REPLY, ephemeral: true };
        outcome = 'failed';
      }
    }
    try {
      await interaction.reply({
        content: reply.content,
        ...(reply.ephemeral ? { flags: MessageFlags.Ephemeral } : {}),
      });
    } catch (err) {
      log.warn(
        { err: describeError(err), command: interaction.commandName },
        'replying to a Discord command failed',
      );
    }
    try {
      await this.options.onCommandAnswered?.({
        command: command?.name ?? 'other',
        guildId: command?.guildId ?? null,
        outcome,
      });
    } catch (err) {
      log.error({ err: describeError(err) }, 'recording Discord command usage failed');
    }
  }

  private setState(state: DiscordBotState): void {
    if (this.currentState === state) return;
    this.currentState = state;
    this.options.log.debug({ state }, 'Discord bot state');
    this.options.onStateChange?.(state);
  }
}

/** The tracker's view of a discord.js voice state; null when not in a voice channel. */
export function toBotVoiceState(state: VoiceState): BotVoiceState | null {
  if (!state.channelId) return null;
  const user = state.member?.user ?? state.client.users.cache.get(state.id);
  return {
    userId: state.id,
    channelId: state.channelId,
    selfMute: state.selfMute ?? false,
    serverMute: state.serverMute ?? false,
    selfDeaf: state.selfDeaf ?? false,
    serverDeaf: state.serverDeaf ?? false,
    isBot: user?.bot ?? false,
    ...displayNameOf(state.member?.displayName ?? user?.displayName),
  };
}

/** The name as Discord shows it, when there is one (the member names service trims and bounds it). */
function displayNameOf(name: string | undefined): { displayName?: string } {
  return name ? { displayName: name } : {};
}

function sameVoiceState(a: BotVoiceState | null, b: BotVoiceState | null): boolean {
  if (a === null || b === null) return a === b;
  return (
    a.userId === b.userId &&
    a.channelId === b.channelId &&
    a.selfMute === b.selfMute &&
    a.serverMute === b.serverMute &&
    a.selfDeaf === b.selfDeaf &&
    a.serverDeaf === b.serverDeaf &&
    a.isBot === b.isBot
  );
}

/**
 * Name, message and status only: discord.js REST errors carry the request URL, which for
 * interaction replies includes the interaction token.
 */
function describeError(err: unknown): { name: string; message: string; status?: number; code?: unknown } {
  if (!(err instanceof Error)) return { name: 'Error', message: String(err) };
  const { status, code } = err as Error & { status?: unknown; code?: unknown };
  return {
    name: err.name,
    message: err.message,
    ...(typeof status === 'number' ? { status } : {}),
    ...(code !== undefined ? { code } : {}),
  };
}
