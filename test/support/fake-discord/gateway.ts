/**
 * The fake gateway's protocol, one connection at a time: HELLO → IDENTIFY → READY
 * (+ one GUILD_CREATE per guild), heartbeats and their ACKs, RESUME → replay of the
 * dispatches the client missed → RESUMED, INVALID_SESSION, RECONNECT. JSON only, no
 * compression (discord.js asks for zlib-stream only when zlib-sync is installed).
 *
 * Sessions outlive connections as on Discord: a connection that drops abnormally
 * leaves its session resumable, and dispatches meant for it are numbered and kept
 * for the RESUME. A client close with 1000/1001, or an INVALID_SESSION, ends it.
 */
import { GatewayCloseCodes, GatewayDispatchEvents, GatewayOpcodes } from 'discord.js';
import type { RawData, WebSocket } from 'ws';
import { type FakeGuild, type FakeUser, guildCreatePayload, snowflake, userPayload } from './payloads.js';

export interface GatewayLogEntry {
  /** 1, 2, … in the order connections were opened. */
  connection: number;
  kind: 'opened' | 'sent' | 'received' | 'closed';
  op?: number;
  /** Dispatch name (`READY`, `VOICE_STATE_UPDATE`, …) for op 0. */
  t?: string;
  s?: number;
  /** Close code, for `closed`. */
  code?: number;
  /** Request path, for `opened` (`/gateway` or `/resume`). */
  path?: string;
}

/** What the gateway reads from the fake's shared state. */
export interface GatewayWorld {
  token: string;
  botUser: FakeUser;
  applicationId: string;
  resumeUrl: string;
  heartbeatIntervalMs: number;
  /** A connection silent (no heartbeat) this long is closed with 4009 and its session ended. */
  heartbeatTimeoutMs?: number;
  guilds: Map<string, FakeGuild>;
}

interface Session {
  id: string;
  seq: number;
  /** Every dispatch numbered for this session, for replay on RESUME. */
  dispatched: { s: number; t: string; d: unknown }[];
  connection: Connection | null;
  resumable: boolean;
}

interface Connection {
  number: number;
  socket: WebSocket;
  session: Session | null;
  /** Closes the connection when no heartbeat comes in time (heartbeatTimeoutMs). */
  silence?: NodeJS.Timeout;
}

export class FakeGateway {
  readonly log: GatewayLogEntry[] = [];
  private readonly sessions = new Map<string, Session>();
  private readonly connections = new Set<Connection>();
  private connectionCount = 0;
  /** The most sessions connected at once, checked at every event. */
  mostConnected = 0;

  constructor(
    private readonly world: GatewayWorld,
    private readonly changed: () => void,
  ) {}

  accept(socket: WebSocket, path: string): void {
    this.connectionCount += 1;
    const connection: Connection = { number: this.connectionCount, socket, session: null };
    this.connections.add(connection);
    this.record({ connection: connection.number, kind: 'opened', path });
    socket.on('message', (data) => this.receive(connection, data));
    socket.on('close', (code) => this.closed(connection, code));
    socket.on('error', () => {});
    this.expectHeartbeat(connection);
    this.send(connection, {
      op: GatewayOpcodes.Hello,
      d: { heartbeat_interval: this.world.heartbeatIntervalMs },
    });
  }

  /** Numbers `t` for every live session; sends it now where connected, else keeps it for RESUME. */
  dispatch(t: string, d: unknown): void {
    for (const session of this.sessions.values()) {
      if (session.resumable) this.dispatchTo(session, t, d);
    }
  }

  /** Sessions with an open, identified or resumed connection. */
  connectedSessionCount(): number {
    return [...this.sessions.values()].filter((s) => s.resumable && s.connection !== null).length;
  }

  /** Ends every socket without a close frame (the client sees 1006 and resumes). */
  dropConnections(): void {
    for (const connection of this.connections) connection.socket.terminate();
  }

  /** INVALID_SESSION (d: false) to every connected session: the client must IDENTIFY afresh. */
  invalidateSessions(): void {
    for (const session of this.sessions.values()) {
      if (!session.connection) continue;
      session.resumable = false;
      this.send(session.connection, { op: GatewayOpcodes.InvalidSession, d: false });
    }
  }

  /** RECONNECT (op 7): the client closes and resumes on the resume URL. */
  requestReconnect(): void {
    for (const connection of this.connections) {
      if (connection.session) this.send(connection, { op: GatewayOpcodes.Reconnect, d: null });
    }
  }

  closeAll(): void {
    for (const connection of this.connections) {
      clearTimeout(connection.silence);
      connection.socket.terminate();
    }
    this.connections.clear();
  }

  private receive(connection: Connection, data: RawData): void {
    let payload: { op?: unknown; d?: unknown };
    try {
      payload = JSON.parse(data.toString()) as { op?: unknown; d?: unknown };
    } catch {
      connection.socket.close(GatewayCloseCodes.DecodeError, 'Error while decoding payload.');
      return;
    }
    const op = typeof payload.op === 'number' ? payload.op : -1;
    this.record({ connection: connection.number, kind: 'received', op });
    switch (op) {
      case GatewayOpcodes.Heartbeat:
        this.expectHeartbeat(connection);
        this.send(connection, { op: GatewayOpcodes.HeartbeatAck });
        return;
      case GatewayOpcodes.Identify:
        this.identify(connection, payload.d as { token?: unknown });
        return;
      case GatewayOpcodes.Resume:
        this.resume(connection, payload.d as { token?: unknown; session_id?: unknown; seq?: unknown });
        return;
      case GatewayOpcodes.PresenceUpdate:
      case GatewayOpcodes.VoiceStateUpdate:
      case GatewayOpcodes.RequestGuildMembers:
        if (!connection.session)
          connection.socket.close(GatewayCloseCodes.NotAuthenticated, 'Not authenticated.');
        return;
      default:
        connection.socket.close(GatewayCloseCodes.UnknownOpcode, 'Unknown opcode.');
    }
  }

  private identify(connection: Connection, d: { token?: unknown }): void {
    if (connection.session) {
      connection.socket.close(GatewayCloseCodes.AlreadyAuthenticated, 'Already authenticated.');
      return;
    }
    if (d?.token !== this.world.token) {
      connection.socket.close(GatewayCloseCodes.AuthenticationFailed, 'Authentication failed.');
      return;
    }
    const session: Session = { id: snowflake(), seq: 0, dispatched: [], connection, resumable: true };
    this.sessions.set(session.id, session);
    connection.session = session;
    const guilds = [...this.world.guilds.values()];
    this.dispatchTo(session, GatewayDispatchEvents.Ready, {
      v: 10,
      user: { ...userPayload(this.world.botUser), verified: true, mfa_enabled: false, flags: 0 },
      guilds: guilds.map((guild) => ({ id: guild.id, unavailable: true })),
      session_id: session.id,
      resume_gateway_url: this.world.resumeUrl,
      shard: [0, 1],
      application: { id: this.world.applicationId, flags: 0 },
    });
    for (const guild of guilds)
      this.dispatchTo(session, GatewayDispatchEvents.GuildCreate, guildCreatePayload(guild));
  }

  private resume(connection: Connection, d: { token?: unknown; session_id?: unknown; seq?: unknown }): void {
    if (d?.token !== this.world.token) {
      connection.socket.close(GatewayCloseCodes.AuthenticationFailed, 'Authentication failed.');
      return;
    }
    const session = typeof d.session_id === 'string' ? this.sessions.get(d.session_id) : undefined;
    if (!session?.resumable) {
      this.send(connection, { op: GatewayOpcodes.InvalidSession, d: false });
      return;
    }
    if (session.connection && session.connection !== connection) session.connection.socket.terminate();
    session.connection = connection;
    connection.session = session;
    const seq = typeof d.seq === 'number' ? d.seq : 0;
    for (const missed of session.dispatched.filter((entry) => entry.s > seq)) {
      this.send(connection, { op: GatewayOpcodes.Dispatch, ...missed });
    }
    this.dispatchTo(session, GatewayDispatchEvents.Resumed, null);
  }

  private dispatchTo(session: Session, t: string, d: unknown): void {
    const s = ++session.seq;
    session.dispatched.push({ s, t, d });
    if (session.connection) this.send(session.connection, { op: GatewayOpcodes.Dispatch, t, s, d });
  }

  /** (Re)arms the connection's silence timer: no heartbeat within heartbeatTimeoutMs ends its session. */
  private expectHeartbeat(connection: Connection): void {
    const timeoutMs = this.world.heartbeatTimeoutMs;
    if (timeoutMs === undefined) return;
    clearTimeout(connection.silence);
    connection.silence = setTimeout(() => {
      const session = connection.session;
      if (session?.connection === connection) {
        session.connection = null;
        session.resumable = false;
      }
      connection.socket.close(GatewayCloseCodes.SessionTimedOut, 'Session timed out.');
      // A frozen client never answers the close: the socket goes now, not after ws's close timeout.
      connection.socket.terminate();
    }, timeoutMs);
    connection.silence.unref();
  }

  private closed(connection: Connection, code: number): void {
    clearTimeout(connection.silence);
    this.connections.delete(connection);
    this.record({ connection: connection.number, kind: 'closed', code });
    const session = connection.session;
    if (!session || session.connection !== connection) return;
    session.connection = null;
    // A client that closes normally ends its session; anything else may resume.
    if (code === 1000 || code === 1001) session.resumable = false;
  }

  private send(connection: Connection, payload: { op: number; t?: string; s?: number; d?: unknown }): void {
    if (connection.socket.readyState !== connection.socket.OPEN) return;
    connection.socket.send(JSON.stringify({ t: null, s: null, d: null, ...payload }));
    this.record({
      connection: connection.number,
      kind: 'sent',
      op: payload.op,
      ...(payload.t ? { t: payload.t } : {}),
      ...(payload.s ? { s: payload.s } : {}),
    });
  }

  private record(entry: GatewayLogEntry): void {
    this.log.push(entry);
    this.mostConnected = Math.max(this.mostConnected, this.connectedSessionCount());
    this.changed();
  }
}
