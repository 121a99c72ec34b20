/**
 * Live listen sessions (docs/architecture.md, "Live listen"). A user with `listen:monitor` on a
 * node opens a session (POST) and gets a single-use ticket that expires in LISTEN_TICKET_TTL_MS;
 * their WebSocket presents it once and then receives the node's audio as Opus frames.
 *
 * Sessions that select the same channels of a node share one agent stream: the first asks the
 * agent (`listen-start`, renewed every LISTEN_RENEW_MS while anyone listens, sent again when
 * the agent reconnects), the last to leave stops it (`listen-stop`). Sessions live in this
 * replica's memory, like the meters; each is audited once when it opens and once when it ends,
 * whatever ends it: its user, a closed socket, a stall, an unused ticket, an agent refusal, a
 * revoked access (re-checked whenever the access generation moves), the controller stopping.
 */
import { randomBytes } from 'node:crypto';
import {
  decodeListenFrame,
  encodeListenFrame,
  LISTEN_FRAME_MS,
  LISTEN_RENEW_MS,
  LISTEN_SAMPLE_RATE,
  type ListenEnd,
  type ListenFrame,
  type ListenHello,
} from '../../../../shared/src/listen.js';
import type { CommandResult } from '../../../../shared/src/mqtt.js';
import { type AgentInbox, senderOf } from '../../core/agent-inbox.js';
import type { AuditWriter, RequestContext } from '../../core/audit.types.js';
import { badRequest, conflict, forbidden, notFound } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { NodeNotifier } from '../../core/node-commands.js';
import type { NodeDirectory, NodeIdentity } from '../../core/node-directory.js';
import { actorOf, type CallContext, type Principal, type UserPrincipal } from '../../core/principal.js';
import { visibleTo } from '../../core/visible.js';
import { hashSecret, newSecret } from '../../crypto/secrets.js';
import type { Metrics } from '../../metrics.js';
import { type ListenerSocket, RelayedListener, SequenceCounter } from './listen.relay.js';

/** How long a ticket may wait for its WebSocket. */
export const LISTEN_TICKET_TTL_MS = 30_000;
/** Sessions one user may hold at once (across nodes). */
export const MAX_SESSIONS_PER_USER = 20;
export const DEFAULT_LISTEN_BITRATE = 64_000;
const TICKET_PREFIX = 'elt_';

/** WebSocket close codes a listener sees (4000–4999 are the application's). */
export const CLOSE = {
  ended: 4000,
  ticket: 4001,
  revoked: 4003,
  stalled: 4008,
  refused: 4009,
  shutdown: 1001,
} as const;

type SessionState = 'pending' | 'open' | 'ended';

interface Session {
  id: string;
  nodeId: string;
  channels: number[];
  bitrate: number;
  /** The agent stream it hears, once its socket connected. */
  stream?: Stream;
  principal: UserPrincipal;
  request: RequestContext;
  ticketHash: string;
  ticketExpiresAtMs: number;
  state: SessionState;
  createdAtMs: number;
  listener?: RelayedListener;
}

interface Stream {
  id: string;
  nodeId: string;
  channels: number[];
  bitrate: number;
  sessions: Set<Session>;
  sequence: SequenceCounter;
  renewedAtMs: number;
  commands: number;
}

export interface ListenSessionView {
  id: string;
  nodeId: string;
  channels: number[];
  user: { id: string; username: string };
  state: SessionState;
  createdAt: string;
  streamId: string | null;
  framesSent: number;
  framesDropped: number;
}

export interface OpenedSession {
  session: ListenSessionView;
  ticket: string;
  ticketExpiresAt: string;
  /** Where the WebSocket connects (with the ticket as `?ticket=` or as its first message). */
  websocketPath: string;
}

export interface ListenAccess {
  /** The access generation (the access module's): while it holds, nobody's access changed. */
  generation: { read(): Promise<number> };
  /** The caller as they are now; undefined once their credential is revoked or expired. */
  current(principal: UserPrincipal): Promise<UserPrincipal | undefined>;
}

export interface ListenServiceOptions {
  nodes: Pick<NodeDirectory, 'scopeOf'>;
  notifyNode: NodeNotifier;
  access: ListenAccess;
  audit: Pick<AuditWriter, 'recordAlone'>;
  metrics: Metrics;
  log: Logger;
  now: () => Date;
  /** Where a node's listeners connect. */
  websocketPath: (nodeId: string) => string;
  /** Frames agents send over HTTP go through the broker, as published ones do. */
  inbox: AgentInbox;
}

export class ListenService {
  private readonly sessions = new Map<string, Session>();
  private readonly streams = new Map<string, Stream>();
  private checkedGeneration: number | undefined;

  constructor(private readonly options: ListenServiceOptions) {}

  private nowMs(): number {
    return this.options.now().getTime();
  }

  async open(
    ctx: CallContext,
    nodeId: string,
    input: { channels?: number[]; bitrate?: number },
  ): Promise<OpenedSession> {
    const user = userOf(ctx.principal);
    await this.visibleNode(user, nodeId);
    const channels = input.channels ?? [1];
    if (new Set(channels).size !== channels.length) throw badRequest('channels must not repeat');
    const own = [...this.sessions.values()].filter((s) => s.principal.userId === user.userId);
    if (own.length >= MAX_SESSIONS_PER_USER)
      throw conflict(`you already hold ${MAX_SESSIONS_PER_USER} listen sessions: end one (DELETE) first`);
    const ticket = newSecret(TICKET_PREFIX);
    const nowMs = this.nowMs();
    const session: Session = {
      id: `ls_${randomBytes(9).toString('base64url')}`,
      nodeId,
      channels,
      bitrate: input.bitrate ?? DEFAULT_LISTEN_BITRATE,
      principal: user,
      request: ctx.request,
      ticketHash: hashSecret(ticket),
      ticketExpiresAtMs: nowMs + LISTEN_TICKET_TTL_MS,
      state: 'pending',
      createdAtMs: nowMs,
    };
    await this.options.audit.recordAlone({
      actor: actorOf(user),
      permission: 'listen:monitor',
      action: 'listen.start',
      target: { type: 'node', id: nodeId },
      outcome: 'success',
      after: { sessionId: session.id, channels, bitrate: session.bitrate },
      context: ctx.request,
    });
    this.sessions.set(session.id, session);
    this.options.metrics.listenSessions.inc();
    return {
      session: view(session),
      ticket,
      ticketExpiresAt: new Date(session.ticketExpiresAtMs).toISOString(),
      websocketPath: this.options.websocketPath(nodeId),
    };
  }

  /**
   * A WebSocket presents its ticket: the session opens on it (once), or an error says why.
   * The socket gets the hello, then the stream's frames.
   */
  connect(ticket: string, socket: ListenerSocket, nodeId: string): string {
    const hash = hashSecret(ticket);
    const session = [...this.sessions.values()].find((s) => s.ticketHash === hash);
    if (
      session?.state !== 'pending' ||
      session.nodeId !== nodeId ||
      this.nowMs() >= session.ticketExpiresAtMs
    )
      throw new ListenTicketError();
    session.state = 'open';
    session.listener = new RelayedListener(session.id, socket, this.nowMs());
    // The agent streams while a socket listens: the first one starts it (sent after the hello).
    const stream = this.streamFor(session.nodeId, session.channels, session.bitrate);
    session.stream = stream;
    stream.sessions.add(session);
    const hello: ListenHello = {
      type: 'hello',
      sessionId: session.id,
      nodeId: session.nodeId,
      codec: 'opus',
      sampleRate: LISTEN_SAMPLE_RATE,
      channels: session.channels,
      frameMs: LISTEN_FRAME_MS,
    };
    socket.send(JSON.stringify(hello));
    if (stream.sessions.size === 1) this.startStream(stream);
    return session.id;
  }

  /** The listener's socket closed on its own. */
  disconnected(sessionId: string): void {
    void this.end(sessionId, 'listener closed', CLOSE.ended);
  }

  async stop(ctx: CallContext, nodeId: string, sessionId: string): Promise<void> {
    const user = userOf(ctx.principal);
    await this.visibleNode(user, nodeId);
    const session = this.sessions.get(sessionId);
    // Another user's session is as absent as one that never was.
    if (!session || session.nodeId !== nodeId || session.principal.userId !== user.userId)
      throw notFound('listen session');
    await this.end(sessionId, 'ended by its user', CLOSE.ended, ctx.request);
  }

  async list(ctx: CallContext, nodeId: string): Promise<ListenSessionView[]> {
    const user = userOf(ctx.principal);
    await this.visibleNode(user, nodeId);
    return [...this.sessions.values()].filter((s) => s.nodeId === nodeId).map(view);
  }

  /**
   * A frame the agent sent over HTTP, its MQTT connection being down (AGENT_ROUTES.listenChunk):
   * its own node's only, checked as the broker checks a published one, then handled as one.
   */
  async ingestChunk(ctx: CallContext, nodeId: string, chunk: Buffer | undefined): Promise<void> {
    const from = senderOf(ctx.principal, nodeId, 'node:control');
    const decoded = decodeListenFrame(chunk ?? Buffer.alloc(0));
    if (!decoded.ok)
      throw badRequest(`${decoded.error}: send one live listen frame as shared/src/listen.ts encodes it.`);
    await this.options.inbox(from, 'listen', decoded.payload);
  }

  /** A frame from an agent (validated by the broker); relayed to the stream's listeners. */
  onFrame(from: NodeIdentity, frame: ListenFrame): void {
    const { metrics } = this.options;
    const stream = this.streams.get(frame.streamId);
    // Not ours (stopped meanwhile) or another node's stream id: nothing to relay to.
    if (!stream || stream.nodeId !== from.nodeId) {
      metrics.listenFrames.inc({ outcome: 'unwanted' });
      return;
    }
    if (frame.seq === 0) stream.sequence.reset();
    const lostBefore = stream.sequence.lost;
    if (!stream.sequence.accept(frame.seq)) return;
    if (stream.sequence.lost > lostBefore)
      metrics.listenFrames.inc({ outcome: 'lost' }, stream.sequence.lost - lostBefore);
    metrics.listenFrames.inc({ outcome: 'received' });
    const data = encodeListenFrame(frame);
    const nowMs = this.nowMs();
    let sent = 0;
    let dropped = 0;
    for (const session of stream.sessions) {
      const listener = session.listener;
      if (!listener) continue;
      const before = listener.framesDropped;
      if (listener.offer(data, nowMs))
        void this.end(session.id, 'listener too slow (stalled)', CLOSE.stalled);
      if (listener.framesDropped > before) dropped++;
      else sent++;
    }
    // One counter update a frame, not one per listener.
    if (sent > 0) metrics.listenFrames.inc({ outcome: 'sent' }, sent);
    if (dropped > 0) metrics.listenFrames.inc({ outcome: 'dropped' }, dropped);
  }

  /** An agent answered a command: a refused `listen-start` ends its stream's sessions. */
  async onResult(from: NodeIdentity, result: CommandResult): Promise<void> {
    if (result.ok || !result.id.startsWith('listen-')) return;
    const stream = [...this.streams.values()].find(
      (s) => s.nodeId === from.nodeId && result.id.startsWith(`listen-${s.id}-`),
    );
    if (!stream) return;
    const reason = `the agent refused: ${result.message ?? 'no reason given'}`.slice(0, 200);
    await Promise.all([...stream.sessions].map((s) => this.end(s.id, reason, CLOSE.refused)));
  }

  /** The node's agent (re)connected: its streams start again at once. */
  async onConnected(nodeId: string): Promise<void> {
    for (const stream of this.streams.values()) if (stream.nodeId === nodeId) this.startStream(stream);
  }

  /**
   * Run every second: unused tickets expire, streams are renewed, listeners are pinged, and when the access
   * generation moved every session's user is checked again.
   */
  async tick(): Promise<void> {
    const nowMs = this.nowMs();
    for (const session of this.sessions.values())
      if (session.state === 'pending' && nowMs >= session.ticketExpiresAtMs)
        await this.end(session.id, 'ticket not used in time', CLOSE.ticket);
    for (const stream of this.streams.values())
      if (nowMs - stream.renewedAtMs >= LISTEN_RENEW_MS) this.startStream(stream);
    for (const session of this.sessions.values())
      if (session.listener?.keepAlive(nowMs))
        await this.end(session.id, 'listener too slow (stalled)', CLOSE.stalled);
    if (this.sessions.size > 0) await this.recheckAccess();
    else this.checkedGeneration = undefined;
  }

  /** Ends every session (the controller stops). */
  async stopAll(): Promise<void> {
    await Promise.all(
      [...this.sessions.keys()].map((id) => this.end(id, 'controller stopping', CLOSE.shutdown)),
    );
  }

  private async recheckAccess(): Promise<void> {
    const generation = await this.options.access.generation.read();
    if (generation === this.checkedGeneration) return;
    const users = new Map<string, Session[]>();
    for (const s of this.sessions.values()) {
      const key = s.principal.sessionId ?? s.principal.apiTokenId ?? s.principal.userId;
      users.set(key, [...(users.get(key) ?? []), s]);
    }
    for (const sessions of users.values()) {
      const now = await this.options.access.current(sessions[0]!.principal);
      for (const session of sessions) {
        const scope = now ? await this.options.nodes.scopeOf(session.nodeId) : undefined;
        if (now && scope && now.access.allows('listen:monitor', scope)) session.principal = now;
        else await this.end(session.id, 'access revoked', CLOSE.revoked);
      }
    }
    this.checkedGeneration = generation;
  }

  /** Ends a session once, audited with the request that ended it (else the one that opened it). */
  private async end(
    sessionId: string,
    reason: string,
    code: number,
    request?: RequestContext,
  ): Promise<void> {
    const session = this.sessions.get(sessionId);
    if (!session || session.state === 'ended') return;
    const wasOpen = session.state === 'open';
    session.state = 'ended';
    this.sessions.delete(sessionId);
    this.options.metrics.listenSessions.dec();
    const { stream } = session;
    stream?.sessions.delete(session);
    if (stream?.sessions.size === 0) this.stopStream(stream);
    if (wasOpen && session.listener) {
      const end: ListenEnd = { type: 'end', reason };
      const { socket } = session.listener;
      try {
        if (code === CLOSE.stalled) socket.terminate();
        else {
          socket.send(JSON.stringify(end));
          socket.close(code, reason.slice(0, 120));
        }
      } catch {
        // already closed
      }
    }
    await this.options.audit
      .recordAlone({
        actor: actorOf(session.principal),
        permission: 'listen:monitor',
        action: 'listen.end',
        target: { type: 'node', id: session.nodeId },
        outcome: 'success',
        reason,
        after: {
          sessionId,
          durationMs: this.nowMs() - session.createdAtMs,
          framesSent: session.listener?.framesSent ?? 0,
          framesDropped: session.listener?.framesDropped ?? 0,
        },
        context: request ?? session.request,
      })
      .catch((err: unknown) =>
        this.options.log.error({ err, sessionId }, 'audit of a listen session end failed'),
      );
  }

  private streamFor(nodeId: string, channels: number[], bitrate: number): Stream {
    for (const stream of this.streams.values())
      if (stream.nodeId === nodeId && sameList(stream.channels, channels) && stream.bitrate === bitrate)
        return stream;
    const stream: Stream = {
      id: `s${randomBytes(9).toString('base64url')}`,
      nodeId,
      channels,
      bitrate,
      sessions: new Set(),
      sequence: new SequenceCounter(),
      renewedAtMs: 0,
      commands: 0,
    };
    this.streams.set(stream.id, stream);
    return stream;
  }

  /** Asks the agent for the stream (first listener, renewals, reconnects): the same command each time. */
  private startStream(stream: Stream): void {
    stream.renewedAtMs = this.nowMs();
    const args = { streamId: stream.id, channels: stream.channels, bitrate: stream.bitrate };
    void this.options.notifyNode(
      stream.nodeId,
      'listen-start',
      args,
      `listen-${stream.id}-${++stream.commands}`,
    );
  }

  private stopStream(stream: Stream): void {
    this.streams.delete(stream.id);
    void this.options.notifyNode(
      stream.nodeId,
      'listen-stop',
      { streamId: stream.id },
      `listen-${stream.id}-stop`,
    );
  }

  private async visibleNode(user: UserPrincipal, nodeId: string): Promise<void> {
    const scope = await this.options.nodes.scopeOf(nodeId);
    if (!scope) throw notFound('node');
    visibleTo(user, 'listen:monitor', scope, scope, { name: 'node', target: { type: 'node', id: nodeId } });
  }
}

/** A WebSocket's ticket did not open a session. */
export class ListenTicketError extends Error {
  constructor() {
    super(
      'the listen ticket is unknown, used or expired: open a new session (POST /api/v1/nodes/{id}/listen)',
    );
  }
}

function userOf(principal: Principal): UserPrincipal {
  if (principal.kind !== 'user') throw forbidden('Live listen is for users.');
  return principal;
}

function sameList(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function view(session: Session): ListenSessionView {
  return {
    id: session.id,
    nodeId: session.nodeId,
    channels: session.channels,
    user: { id: session.principal.userId, username: session.principal.username },
    state: session.state,
    createdAt: new Date(session.createdAtMs).toISOString(),
    streamId: session.stream?.id ?? null,
    framesSent: session.listener?.framesSent ?? 0,
    framesDropped: session.listener?.framesDropped ?? 0,
  };
}
