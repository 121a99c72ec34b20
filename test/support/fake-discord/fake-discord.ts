/**
 * A local stand-in for Discord — the gateway and the REST API on one 127.0.0.1 port —
 * that the real discord.js client connects to (CONTRIBUTING.md: mock only what we do not own).
 * Point the client at it with `rest: { api: fake.restApiBase }`; the gateway URL
 * reaches the client through `GET /gateway/bot`, as on Discord.
 *
 * The test drives the world (`addGuild`, `voice`, `sendInteraction`) and the
 * connection (`dropConnection`, `forceReidentify`, `requestReconnect`), and observes
 * what the client did through `restCalls`, `gatewayLog` and `waitFor`.
 */
import { EventEmitter } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIApplicationCommand } from 'discord.js';
import { WebSocketServer } from 'ws';
import { FakeGateway, type GatewayLogEntry } from './gateway.js';
import {
  type FakeChannel,
  type FakeGuild,
  type FakeMember,
  type FakeRole,
  type FakeUser,
  type FakeVoiceState,
  guildCreatePayload,
  type SlashCommandInput,
  slashCommandPayload,
  snowflake,
  voiceStatePayload,
} from './payloads.js';
import { type RestCall, type RestWorld, serveRest } from './rest.js';

export type { FakeChannel, FakeRole, FakeUser, GatewayLogEntry, RestCall, SlashCommandInput };

export interface FakeDiscordOptions {
  /** The bot token the fake accepts (REST `Authorization: Bot …`, IDENTIFY, RESUME). */
  token?: string;
  botUser?: FakeUser;
  applicationId?: string;
  /** HELLO's heartbeat_interval; small values make the client heartbeat during a test. */
  heartbeatIntervalMs?: number;
  /**
   * Close a connection that sent no heartbeat for this long with 4009 (session timed out), its
   * session ended, as Discord drops a client that stopped heartbeating (a frozen process).
   * Omitted: connections are never timed out.
   */
  heartbeatTimeoutMs?: number;
}

export interface FakeGuildInput {
  id: string;
  name: string;
  /** Defaults to the first member. */
  ownerId?: string;
  afkChannelId?: string | null;
  /** Roles besides @everyone (which can view, send, connect and speak). */
  roles?: FakeRole[];
  channels: FakeChannel[];
  members: (FakeUser & { roles?: string[] })[];
}

/** A change to a member's voice state; omitted fields keep their value (false when joining). */
export interface VoiceChange {
  /** The channel to be in; null leaves voice; omitted stays in the current channel. */
  channelId?: string | null;
  selfMute?: boolean;
  selfDeaf?: boolean;
  /** Server mute. */
  mute?: boolean;
  /** Server deafen. */
  deaf?: boolean;
}

/** What a predicate returns when it holds. */
export type Truthy<T> = Exclude<T, false | null | undefined | 0 | ''>;

export interface WaitOptions {
  timeoutMs?: number;
  /** Named in the timeout error. */
  what?: string;
}

export class FakeDiscord {
  readonly token: string;
  readonly botUser: FakeUser;
  readonly applicationId: string;
  /** Every REST request, in arrival order. */
  readonly restCalls: RestCall[] = [];
  private readonly guilds = new Map<string, FakeGuild>();
  private readonly commands = new Map<string, APIApplicationCommand[]>();
  private readonly changes = new EventEmitter();
  private readonly gateway: FakeGateway;
  private readonly sockets: WebSocketServer;

  private constructor(
    private readonly server: Server,
    private readonly port: number,
    options: FakeDiscordOptions,
  ) {
    this.changes.setMaxListeners(0);
    this.token = options.token ?? 'fake-bot-token.not-a-secret';
    this.botUser = options.botUser ?? { id: snowflake(), username: 'earshot-test-bot', bot: true };
    this.applicationId = options.applicationId ?? this.botUser.id;
    this.gateway = new FakeGateway(
      {
        token: this.token,
        botUser: this.botUser,
        applicationId: this.applicationId,
        resumeUrl: `ws://127.0.0.1:${port}/resume`,
        heartbeatIntervalMs: options.heartbeatIntervalMs ?? 41_250,
        heartbeatTimeoutMs: options.heartbeatTimeoutMs,
        guilds: this.guilds,
      },
      () => this.changes.emit('change'),
    );
    this.sockets = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  }

  static async start(options: FakeDiscordOptions = {}): Promise<FakeDiscord> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: '127.0.0.1', port: 0 }, () => resolve());
    });
    const fake = new FakeDiscord(server, (server.address() as AddressInfo).port, options);
    fake.listen();
    return fake;
  }

  /** The REST base for discord.js (`rest.api`); the client appends `/v10/…`. */
  get restApiBase(): string {
    return `http://127.0.0.1:${this.port}/api`;
  }

  /** What `GET /gateway/bot` returns as `url`. */
  get gatewayUrl(): string {
    return `ws://127.0.0.1:${this.port}/gateway`;
  }

  /** Connections opened, frames both ways (op, t, s) and closes (code), in order. */
  get gatewayLog(): readonly GatewayLogEntry[] {
    return this.gateway.log;
  }

  /** Sessions with a live connection (0 while dropped, during re-identify, or after the client stops). */
  get connectedSessions(): number {
    return this.gateway.connectedSessionCount();
  }

  /** The most sessions connected at once since the fake started (checked at every gateway event). */
  get mostConnectedSessions(): number {
    return this.gateway.mostConnected;
  }

  /** Commands registered globally (no argument) or for one guild. */
  registeredCommands(guildId?: string): readonly APIApplicationCommand[] {
    return this.commands.get(guildId ?? 'global') ?? [];
  }

  /** A member's current role ids (verified roles are granted through REST). */
  memberRoles(guildId: string, userId: string): readonly string[] {
    return this.requireMember(this.requireGuild(guildId), userId).roles;
  }

  /** Adds a guild; connected clients get its GUILD_CREATE now, later ones in their READY. */
  addGuild(input: FakeGuildInput): void {
    const joinedAt = new Date().toISOString();
    const members = new Map<string, FakeMember>();
    for (const member of input.members) {
      members.set(member.id, { ...member, roles: [...(member.roles ?? [])], joinedAt });
    }
    if (!members.has(this.botUser.id)) members.set(this.botUser.id, { ...this.botUser, roles: [], joinedAt });
    const guild: FakeGuild = {
      id: input.id,
      name: input.name,
      ownerId: input.ownerId ?? input.members[0]?.id ?? this.botUser.id,
      afkChannelId: input.afkChannelId ?? null,
      roles: (input.roles ?? []).map((role) => ({ ...role })),
      channels: input.channels.map((channel) => ({ ...channel })),
      members,
      voiceStates: new Map(),
      joinedAt,
    };
    this.guilds.set(guild.id, guild);
    this.gateway.dispatch('GUILD_CREATE', guildCreatePayload(guild));
  }

  /**
   * The bot leaves (or is kicked from) the guild: GUILD_DELETE without `unavailable`,
   * and the guild is gone from later READYs.
   */
  removeGuild(guildId: string): void {
    this.requireGuild(guildId);
    this.guilds.delete(guildId);
    this.gateway.dispatch('GUILD_DELETE', { id: guildId });
  }

  /** Renames the guild without telling connected clients; they see it in the next GUILD_CREATE. */
  renameGuild(guildId: string, name: string): void {
    this.requireGuild(guildId).name = name;
  }

  /**
   * Gives a member a nickname in the guild without telling connected clients (the bot does not
   * ask for member updates); their next voice state carries it.
   */
  renameMember(guildId: string, userId: string, nick: string): void {
    this.requireMember(this.requireGuild(guildId), userId).nick = nick;
  }

  /**
   * Changes a member's voice state and dispatches VOICE_STATE_UPDATE to every live
   * session: sent at once when connected, kept for the RESUME when dropped.
   */
  voice(guildId: string, userId: string, change: VoiceChange): void {
    const guild = this.requireGuild(guildId);
    this.requireMember(guild, userId);
    const current = guild.voiceStates.get(userId);
    const channelId = change.channelId === undefined ? current?.channelId : change.channelId;
    if (channelId === undefined) throw new Error(`fake discord: ${userId} is not in voice; give a channelId`);
    if (channelId === null) {
      guild.voiceStates.delete(userId);
    } else {
      if (!guild.channels.some((channel) => channel.id === channelId)) {
        throw new Error(`fake discord: no channel ${channelId} in guild ${guildId}`);
      }
      const next: FakeVoiceState = {
        channelId,
        selfMute: change.selfMute ?? current?.selfMute ?? false,
        selfDeaf: change.selfDeaf ?? current?.selfDeaf ?? false,
        mute: change.mute ?? current?.mute ?? false,
        deaf: change.deaf ?? current?.deaf ?? false,
        sessionId: current?.sessionId ?? snowflake(),
      };
      guild.voiceStates.set(userId, next);
    }
    this.gateway.dispatch(
      'VOICE_STATE_UPDATE',
      voiceStatePayload(guild, userId, guild.voiceStates.get(userId)),
    );
  }

  /**
   * Ends the connection without a close frame. The client resumes on the resume URL;
   * voice changes made in between are replayed before RESUMED, as Discord does.
   */
  dropConnection(): void {
    this.gateway.dropConnections();
  }

  /**
   * INVALID_SESSION (d: false): the session ends and the client must IDENTIFY again.
   * Changes made in between are not replayed; they show only in the fresh GUILD_CREATE.
   */
  forceReidentify(): void {
    this.gateway.invalidateSessions();
  }

  /** RECONNECT (op 7): the client reconnects and resumes; nothing is lost. */
  requestReconnect(): void {
    this.gateway.requestReconnect();
  }

  /** Dispatches INTERACTION_CREATE for a slash command; the reply arrives at `/interactions/{id}/{token}/callback`. */
  sendInteraction(input: SlashCommandInput): { id: string; token: string } {
    const guild = this.requireGuild(input.guildId);
    const member = this.requireMember(guild, input.userId);
    const command = [...this.registeredCommands(input.guildId), ...this.registeredCommands()].find(
      (registered) => registered.name === input.name,
    );
    const payload = slashCommandPayload(this.applicationId, command?.id ?? snowflake(), guild, member, input);
    this.gateway.dispatch('INTERACTION_CREATE', payload);
    return { id: payload.id, token: payload.token };
  }

  /**
   * Resolves with the predicate's first truthy value, re-checked after every REST call
   * and gateway frame; rejects after `timeoutMs` (default 10 s).
   */
  waitFor<T>(predicate: (fake: FakeDiscord) => T, options: WaitOptions = {}): Promise<Truthy<T>> {
    const { timeoutMs = 10_000, what = 'a condition' } = options;
    return new Promise((resolve, reject) => {
      const finish = () => {
        clearTimeout(timer);
        this.changes.off('change', check);
      };
      const check = () => {
        try {
          const value = predicate(this);
          if (value) {
            finish();
            resolve(value as Truthy<T>);
          }
        } catch (err) {
          finish();
          reject(err);
        }
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`fake discord: timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      this.changes.on('change', check);
      check();
    });
  }

  async stop(): Promise<void> {
    this.gateway.closeAll();
    this.sockets.close();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.changes.removeAllListeners();
  }

  private listen(): void {
    const world: RestWorld = {
      token: this.token,
      botUser: this.botUser,
      applicationId: this.applicationId,
      gatewayUrl: this.gatewayUrl,
      guilds: this.guilds,
      commands: this.commands,
    };
    this.server.on('request', (request, response) => {
      serveRest(world, request, response).then(
        (call) => {
          this.restCalls.push(call);
          this.changes.emit('change');
        },
        (err: unknown) => {
          if (!response.headersSent) response.writeHead(500).end(String(err));
        },
      );
    });
    this.server.on('upgrade', (request, socket, head) => {
      const path = new URL(request.url ?? '/', 'http://fake.discord').pathname;
      if (path !== '/gateway' && path !== '/resume') {
        socket.destroy();
        return;
      }
      this.sockets.handleUpgrade(request, socket, head, (ws) => this.gateway.accept(ws, path));
    });
  }

  private requireGuild(guildId: string): FakeGuild {
    const guild = this.guilds.get(guildId);
    if (!guild) throw new Error(`fake discord: no guild ${guildId}`);
    return guild;
  }

  private requireMember(guild: FakeGuild, userId: string): FakeMember {
    const member = guild.members.get(userId);
    if (!member) throw new Error(`fake discord: no member ${userId} in guild ${guild.id}`);
    return member;
  }
}
