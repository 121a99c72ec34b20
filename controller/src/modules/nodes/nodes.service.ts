/**
 * Nodes: enrollment (one-time token → node credential), inventory with presence,
 * credential rotation, the agent's config and heartbeat, and the scope checks every
 * node-owned object inherits.
 */

import { randomBytes } from 'node:crypto';
import type { HeartbeatBody, NodeConfig } from '../../../../shared/src/agent-api.js';
import { formatNodeCredential, parseNodeCredential } from '../../../../shared/src/agent-api.js';
import type { Permission } from '../../../../shared/src/permissions.js';
import type { Config } from '../../config.js';
import type { ScopeFilter } from '../../core/access-set.js';
import type { AuditWriter } from '../../core/audit.types.js';
import { type ChangeFeed, NO_CHANGE_FEED } from '../../core/change-feed.js';
import { badRequest, conflict, forbidden, notFound, unauthenticated } from '../../core/errors.js';
import { tally } from '../../core/facets.js';
import { actorOf, type CallContext, type NodePrincipal, type Principal } from '../../core/principal.js';
import { type Visible, visibleTo } from '../../core/visible.js';
import { hashSecret, newSecret, safeEqualHex, secretHint } from '../../crypto/secrets.js';
import type { Db } from '../../db/client.js';
import { retryOnUniqueViolation } from '../../db/unique.js';
import { type AccessGeneration, changesNodeCredentials, NodeCredentialCache } from './credential-cache.js';
import { listedNodesPageJson } from './listed-json.js';
import { tagsOf } from './node-management.service.js';
import { NodeSettings } from './node-settings.js';
import type { NodeRow, NodesRepository } from './nodes.repository.js';

/** A node counts as online while its MQTT status is online, or it sent a heartbeat this recently. */
const HEARTBEAT_ONLINE_MS = 45_000;
const HEARTBEAT_INTERVAL_SECONDS = 15;
const JOB_POLL_INTERVAL_SECONDS = 5;

export interface NodeScope {
  nodeId: string;
  siteId: string;
}

/**
 * Ids that name the inventory's own reads (`GET /nodes/export`, `GET /nodes/facets`): a node
 * with one could never be read by its id, so enrollment refuses them.
 */
export const RESERVED_NODE_IDS: ReadonlySet<string> = new Set(['export', 'facets']);

function newNodeId(): string {
  return `node-${randomBytes(6).toString('hex')}`;
}

export class NodesService {
  private credentialAdoption:
    | ((nodeId: string, secret: string) => Promise<'adopted' | 'not-pending' | 'raced'>)
    | undefined;
  /** Verified node credentials, used while the access generation holds (see `authenticate`). */
  private readonly credentials = new NodeCredentialCache();
  private generation: AccessGeneration | undefined;
  private readonly connectedListeners: ((nodeId: string) => Promise<void>)[] = [];
  /** MQTT presence reported by the broker (agent status topic and last will). */
  private readonly mqttOnline = new Set<string>();
  /** When the broker last saw each node go offline (its status or last will). */
  private readonly mqttOfflineAtMs = new Map<string, number>();
  private readonly headroom = new Map<string, number>();

  constructor(
    private readonly db: Db,
    private readonly nodes: NodesRepository,
    private readonly audit: AuditWriter,
    private readonly config: Pick<Config, 'enrollmentTtlMinutes' | 'leaseSeconds' | 'mqttPort'>,
    private readonly now: () => Date = () => new Date(),
    /** The recording profile and watchdog policy nodes name (settings objects). */
    readonly settings: NodeSettings = new NodeSettings(),
    /** Where a node's agent connecting or going away is announced (core/change-feed.ts). */
    private readonly changes: ChangeFeed = NO_CHANGE_FEED,
  ) {}

  present(node: NodeRow) {
    const lastSeen = node.lastSeenAt?.getTime() ?? 0;
    return {
      id: node.id,
      name: node.name,
      site: { id: node.site.id, name: node.site.name },
      enrolled: node.credentialHash !== null,
      credentialHint: node.credentialHint,
      presence: {
        online: this.isOnline(node.id, lastSeen),
        lastSeenAt: node.lastSeenAt?.toISOString() ?? null,
      },
      agentVersion: node.agentVersion,
      capture: {
        device: node.captureDevice,
        state: node.captureState,
        sampleRate: node.sampleRate,
        channels: node.channels,
      },
      diskFreeBytes: node.diskFreeBytes === null ? null : Number(node.diskFreeBytes),
      headroomHours: node.headroomHours,
      clockOffsetMs: node.clockOffsetMs,
      tags: tagsOf(node),
      location: node.location,
      notes: node.notes,
      recordingProfileId: node.recordingProfileId,
      watchdogPolicyId: node.watchdogPolicyId,
      decommissionedAt: node.decommissionedAt?.toISOString() ?? null,
      createdAt: node.createdAt.toISOString(),
    };
  }

  /** Connected to this controller's broker, or a recent heartbeat (to any replica). */
  private isOnline(nodeId: string, lastSeenMs: number): boolean {
    return this.mqttOnline.has(nodeId) || this.recentHeartbeat(nodeId, lastSeenMs);
  }

  /** Every enrolled node in service (in `filter`) and whether it is online now. */
  async presences(
    filter?: ScopeFilter,
  ): Promise<{ id: string; name: string; online: boolean; lastSeenAt: Date | null }[]> {
    const nodes = await this.nodes.inService(filter);
    return nodes.map((n) => ({ ...n, online: this.isOnline(n.id, n.lastSeenAt?.getTime() ?? 0) }));
  }

  /** A recent heartbeat counts, unless the broker has seen the node go offline since. */
  private recentHeartbeat(nodeId: string, lastSeenMs: number): boolean {
    if (this.now().getTime() - lastSeenMs >= HEARTBEAT_ONLINE_MS) return false;
    return (this.mqttOfflineAtMs.get(nodeId) ?? 0) < lastSeenMs;
  }

  /** Hours of recording headroom by node, from the last heartbeats that carried it (this replica). */
  headroomHours(): ReadonlyMap<string, number> {
    return this.headroom;
  }

  onlineCount(): number {
    return this.mqttOnline.size;
  }

  /**
   * The node if the caller may see it with `permission`; 404 otherwise, so nothing
   * outside a caller's scope is revealed. An agent sees only itself.
   */
  async visibleNode(principal: Principal, permission: Permission, nodeId: string): Promise<Visible<NodeRow>> {
    const node = await this.nodes.find(nodeId);
    if (!node) throw notFound('node');
    return visibleTo(
      principal,
      permission,
      node,
      { siteId: node.siteId, nodeId },
      {
        name: 'node',
        target: { type: 'node', id: nodeId },
      },
    );
  }

  async scopeOf(nodeId: string): Promise<NodeScope | undefined> {
    const node = await this.nodes.find(nodeId);
    return node ? { nodeId: node.id, siteId: node.siteId } : undefined;
  }

  /** A page of the inventory the principal may see, as the answer's JSON text (listed-json.ts). */
  async listPage(principal: Principal, query: { site?: string }, limit: number, afterId?: string) {
    if (principal.kind !== 'user') throw forbidden('users only');
    const filter = principal.access.filter('node:read');
    const rows = await this.nodes.listed(filter, query.site ? { site: query.site } : {}, limit, afterId);
    return listedNodesPageJson(rows, limit, (id, lastSeenMs) => this.isOnline(id, lastSeenMs));
  }

  /**
   * How many nodes the list's filters select, by site, presence, enrollment, service and capture
   * state (`null` until an agent reports one: counted as `unreported`).
   */
  async facets(principal: Principal, query: { site?: string }) {
    if (principal.kind !== 'user') throw forbidden('users only');
    const rows = await this.nodes.facetRows(
      principal.access.filter('node:read'),
      query.site ? { site: query.site } : {},
    );
    return {
      total: rows.length,
      site: tally(rows, (n) => n.site.name),
      online: tally(rows, (n) => this.isOnline(n.id, n.lastSeenAt?.getTime() ?? 0)),
      enrolled: tally(rows, (n) => n.credentialHash !== null),
      decommissioned: tally(rows, (n) => n.decommissionedAt !== null),
      captureState: tally(rows, (n) => n.captureState ?? 'unreported'),
    };
  }

  async list(principal: Principal, query: { site?: string }, limit: number, afterId?: string) {
    if (principal.kind !== 'user') throw forbidden('users only');
    const rows = await this.nodes.list(
      principal.access.filter('node:read'),
      query.site ? { site: query.site } : {},
      limit,
      afterId,
    );
    return rows;
  }

  async enroll(
    input: {
      name: string;
      site: string;
      id?: string;
      captureDevice?: string;
      sampleRate?: number;
      channels?: number;
    },
    ctx: CallContext,
  ) {
    const principal = ctx.principal;
    if (principal.kind !== 'user') throw forbidden('users only');
    const secret = newSecret();
    const nodeId = input.id ?? newNodeId();
    if (RESERVED_NODE_IDS.has(nodeId))
      throw badRequest(
        `Node id "${nodeId}" is reserved: GET /api/v1/nodes/${nodeId} is the inventory's own. Choose another id.`,
      );
    const expiresAt = new Date(this.now().getTime() + this.config.enrollmentTtlMinutes * 60_000);
    // Site names and node ids are fleet-wide: a caller scoped to some sites gets the same
    // refusal whether a name it cannot see exists or not, so enrollment reveals nothing.
    const fleetWide = principal.access.hasFleet('node:manage');
    if (input.id !== undefined && !fleetWide)
      throw forbidden(
        'A chosen node id is fleet-wide: choosing one needs node:manage over the whole fleet. ' +
          'Leave out `id` and one is generated.',
        { permission: 'node:manage', target: { type: 'node', id: input.id } },
      );
    // Two first enrollments into a new site race to create it: the loser runs again and finds it.
    const node = await retryOnUniqueViolation(() =>
      this.db.$transaction(async (tx) => {
        let site = await this.nodes.findSiteByName(tx, input.site);
        if (!site || !principal.access.allows('node:manage', { siteId: site.id })) {
          if (!fleetWide)
            throw forbidden(
              `You cannot enroll nodes in site "${input.site}": you need node:manage there ` +
                '(creating a new site needs node:manage over the whole fleet).',
              {
                permission: 'node:manage',
                reason: `enroll in site "${input.site}" outside the caller's scope`,
              },
            );
          site ??= await this.nodes.createSite(tx, input.site);
        }
        if (await tx.node.findUnique({ where: { id: nodeId } }))
          throw conflict(`A node with id ${nodeId} already exists.`);
        const created = await this.nodes.create(tx, {
          id: nodeId,
          name: input.name,
          siteId: site.id,
          enrollmentHash: hashSecret(secret),
          enrollmentExpiresAt: expiresAt,
          captureDevice: input.captureDevice,
          sampleRate: input.sampleRate,
          channels: input.channels,
        });
        await this.audit.record(tx, {
          actor: actorOf(principal),
          permission: 'node:manage',
          action: 'node.enroll',
          target: { type: 'node', id: created.id },
          outcome: 'success',
          after: { id: created.id, name: created.name, site: site.name, enrollmentExpiresAt: expiresAt },
          context: ctx.request,
        });
        return created;
      }),
    );
    return {
      node: this.present(node),
      enrollmentToken: formatNodeCredential(node.id, secret),
      expiresAt: expiresAt.toISOString(),
    };
  }

  /** The agent exchanges its one-time enrollment token for the node credential. */
  async exchangeEnrollment(token: string, ctx: CallContext) {
    const parsed = parseNodeCredential(token);
    const refuse = async (reason: string) => {
      await this.audit.recordAlone({
        actor: { type: 'anonymous', id: parsed?.nodeId ?? null },
        action: 'node.enrollment_exchange',
        target: parsed ? { type: 'node', id: parsed.nodeId } : null,
        outcome: 'denied',
        reason,
        context: ctx.request,
      });
      throw unauthenticated(
        'Enrollment token is not valid, already used or expired: ask an operator for a new one.',
      );
    };
    if (!parsed) return refuse('malformed token');
    const secret = newSecret();
    const now = this.now();
    const result = await this.db.$transaction(async (tx) => {
      const ok = await this.nodes.consumeEnrollment(tx, parsed.nodeId, hashSecret(parsed.secret), now, {
        hash: hashSecret(secret),
        hint: secretHint(secret),
      });
      if (!ok) return undefined;
      await this.audit.record(tx, {
        actor: { type: 'node', id: parsed.nodeId, name: parsed.nodeId },
        permission: 'node:control',
        action: 'node.enrollment_exchange',
        target: { type: 'node', id: parsed.nodeId },
        outcome: 'success',
        context: ctx.request,
      });
      return this.nodes.find(parsed.nodeId);
    });
    if (!result) return refuse('unknown, used or expired token');
    return {
      nodeId: result.id,
      name: result.name,
      siteId: result.siteId,
      credential: formatNodeCredential(result.id, secret),
      mqttPort: this.config.mqttPort,
    };
  }

  async rotateCredential(nodeId: string, ctx: CallContext) {
    const node = await this.visibleNode(ctx.principal, 'node:manage', nodeId);
    if (node.decommissionedAt)
      throw conflict('The node is decommissioned: its credential was revoked for good.');
    if (!node.credentialHash)
      throw conflict('The node has not enrolled yet; there is no credential to rotate.');
    const secret = newSecret();
    const updated = await this.db.$transaction(async (tx) => {
      const ok = await this.nodes.replaceCredential(tx, nodeId, node.credentialVersion, {
        hash: hashSecret(secret),
        hint: secretHint(secret),
      });
      if (!ok) throw conflict('The credential was rotated concurrently; fetch the node and try again.');
      await this.audit.recordChange(tx, ctx, {
        permission: 'node:manage',
        action: 'node.credential_rotate',
        target: { type: 'node', id: nodeId },
        before: { credentialHint: node.credentialHint, version: node.credentialVersion },
        after: { credentialHint: secretHint(secret), version: node.credentialVersion + 1 },
      });
      return this.nodes.find(nodeId);
    });
    return { node: this.present(updated!), credential: formatNodeCredential(nodeId, secret) };
  }

  /**
   * Resolves a node credential to a principal; undefined when not valid. Once verified, a
   * credential is not read again while the access generation holds (credential-cache.ts):
   * every change to what it resolves to bumps the generation in its own transaction.
   */
  async authenticate(credential: string): Promise<NodePrincipal | undefined> {
    const parsed = parseNodeCredential(credential);
    if (!parsed) return undefined;
    const hash = hashSecret(parsed.secret);
    // Read before the credential (never alongside it): an entry carries a generation no newer
    // than the credential row it was checked against.
    const generation = this.generation ? await this.generation.read() : undefined;
    const nowMs = this.now().getTime();
    if (generation !== undefined) {
      const cached = this.credentials.get(parsed.nodeId, hash, generation, nowMs);
      if (cached) return cached;
    }
    const node = await this.nodes.credentialOf(parsed.nodeId);
    if (!node) return undefined;
    const principal: NodePrincipal = { kind: 'node', nodeId: node.id, siteId: node.siteId };
    if (node.credentialHash && safeEqualHex(node.credentialHash, hash)) {
      if (generation !== undefined) this.credentials.set(principal, hash, generation, nowMs);
      return principal;
    }
    // Not the active credential: it may be the one a rotate-credential issued, used for the first time.
    const adoption = await this.credentialAdoption?.(node.id, parsed.secret);
    if (adoption === 'adopted') return principal;
    if (adoption !== 'raced') return undefined;
    const again = await this.nodes.credentialOf(parsed.nodeId);
    return again?.credentialHash && safeEqualHex(again.credentialHash, hash) ? principal : undefined;
  }

  /**
   * Verified credentials are cached while `generation` holds (credential-cache.ts); it is
   * bumped with every audited event that can change what a credential resolves to. Without
   * it, every request reads its node's credential.
   */
  cacheCredentialsWith(generation: AccessGeneration): void {
    generation.bumpOn(changesNodeCredentials);
    this.generation = generation;
  }

  /** How a pending credential (rotate-credential) becomes the active one on first use (lifecycle.service.ts). */
  adoptCredentialsWith(
    adopt: (nodeId: string, secret: string) => Promise<'adopted' | 'not-pending' | 'raced'>,
  ) {
    this.credentialAdoption = adopt;
  }

  /** Whether the node's agent is connected to the broker now (commands reach it). */
  connected(nodeId: string): boolean {
    return this.mqttOnline.has(nodeId);
  }

  /** Runs `listener` each time a node's agent connects (its MQTT status says online). */
  onConnected(listener: (nodeId: string) => Promise<void>): void {
    this.connectedListeners.push(listener);
  }

  async agentConfig(nodeId: string, ctx: CallContext): Promise<NodeConfig> {
    const node = await this.visibleNode(ctx.principal, 'node:control', nodeId);
    const { recordingProfile, watchdogPolicy, cacheRetention } = await this.settings.forAgent(node);
    const enabled = await this.nodes.enabledChannelsOf(node.id, node.captureDevice);
    return {
      nodeId: node.id,
      name: node.name,
      siteId: node.siteId,
      capture: {
        device: node.captureDevice,
        sampleRate: recordingProfile?.sampleRate ?? node.sampleRate,
        channels: node.channels,
        bitDepth: recordingProfile?.bitDepth ?? 16,
        enabledChannels: enabled === null ? null : (JSON.parse(enabled) as number[]),
      },
      recordingProfile,
      watchdogPolicy,
      cacheRetention,
      meterIntervalMs: 100,
      heartbeatIntervalSeconds: HEARTBEAT_INTERVAL_SECONDS,
      jobPollIntervalSeconds: JOB_POLL_INTERVAL_SECONDS,
      leaseSeconds: this.config.leaseSeconds,
      mqttPort: this.config.mqttPort,
    };
  }

  /**
   * Heartbeats are telemetry: last-seen, disk and clock are updated without an audit
   * event each time; a change of agent version or capture device is audited.
   */
  async heartbeat(nodeId: string, body: HeartbeatBody, ctx: CallContext) {
    const node = await this.visibleNode(ctx.principal, 'node:control', nodeId);
    const now = this.now();
    if (body.headroomHours === undefined) this.headroom.delete(nodeId);
    else this.headroom.set(nodeId, body.headroomHours);
    const telemetry = {
      lastSeenAt: now,
      diskFreeBytes: BigInt(body.diskFreeBytes),
      headroomHours: body.headroomHours ?? null,
      clockOffsetMs: body.clockOffsetMs ?? null,
      captureState: body.captureState,
    };
    const changed = node.agentVersion !== body.agentVersion || node.captureDevice !== body.captureDevice;
    if (!changed) {
      await this.nodes.update(this.db, nodeId, telemetry);
    } else {
      await this.db.$transaction(async (tx) => {
        await this.nodes.update(tx, nodeId, {
          ...telemetry,
          agentVersion: body.agentVersion,
          captureDevice: body.captureDevice,
        });
        await this.audit.recordChange(tx, ctx, {
          permission: 'node:control',
          action: 'node.agent_change',
          target: { type: 'node', id: nodeId },
          before: { agentVersion: node.agentVersion, captureDevice: node.captureDevice },
          after: { agentVersion: body.agentVersion, captureDevice: body.captureDevice },
        });
      });
    }
    return { serverTimeMs: now.getTime() };
  }

  /**
   * Called by the broker when an agent's status (or last will) arrives. A change of presence on
   * this replica's broker is announced as `node.online` / `node.offline`.
   */
  async setPresence(nodeId: string, online: boolean, agentVersion?: string): Promise<void> {
    const was = this.mqttOnline.has(nodeId);
    if (!online) {
      // Going offline is not being seen: lastSeenAt keeps the last sign of life.
      this.mqttOnline.delete(nodeId);
      this.mqttOfflineAtMs.set(nodeId, this.now().getTime());
      if (was) {
        const node = await this.nodes.find(nodeId);
        if (node) this.announcePresence(node, false);
      }
      return;
    }
    this.mqttOnline.add(nodeId);
    const node = await this.nodes.find(nodeId);
    if (!node) return;
    await this.nodes.update(this.db, nodeId, {
      lastSeenAt: this.now(),
      ...(agentVersion && agentVersion !== node.agentVersion ? { agentVersion } : {}),
    });
    if (!was) this.announcePresence(node, true);
    for (const listener of this.connectedListeners) await listener(nodeId);
  }

  /** Presence recorded by another replica (clustered broker): memory only, it wrote and announced. */
  markPresence(nodeId: string, online: boolean): void {
    if (online) {
      this.mqttOnline.add(nodeId);
      return;
    }
    this.mqttOnline.delete(nodeId);
    this.mqttOfflineAtMs.set(nodeId, this.now().getTime());
  }

  private announcePresence(node: NodeRow, online: boolean): void {
    this.changes.publish({
      type: online ? 'node.online' : 'node.offline',
      at: this.now(),
      scope: { siteId: node.siteId, nodeId: node.id },
      subject: { type: 'node', id: node.id },
      data: { name: node.name, online },
    });
  }
}
