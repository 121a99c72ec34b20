/**
 * Node credentials already verified, so that an agent's request (a claim, an empty poll, a
 * heartbeat) does not read its node's credential from the database every time.
 *
 * An entry is the node a credential named and the credential's SHA-256 (never the secret), with
 * the access generation read *before* the credential was checked against the database (the
 * access module's counter, bumped in the transaction of every audited event that can change
 * what a credential resolves to: `CREDENTIAL_EVENTS`). A request reads the generation (one small
 * query, shared by the requests waiting at that moment) and uses an entry only while it is
 * unchanged. A revocation, rotation, adoption, decommission, delete or site move commits the
 * bump with the change and before its answer, so every request that starts after it, on this
 * replica or any other sharing the database, checks the credential against the database again.
 */
import type { AuditInput } from '../../core/audit.types.js';
import type { NodePrincipal } from '../../core/principal.js';

/** The access generation as the access module offers it (its `accessGeneration` port). */
export interface AccessGeneration {
  /** The generation now, from a read that started after the call. */
  read(): Promise<number>;
  /** Bump the generation in the transaction of every audited event `when` selects. */
  bumpOn(when: (input: AuditInput) => boolean): void;
}

/**
 * The audited node events after which a credential may resolve differently: a new or replaced
 * active credential (the old one stops working), a revoked one, a node gone or moved to
 * another site (a node principal carries its site). A pending credential (`credential_issue`)
 * changes nothing until it is adopted.
 */
export const CREDENTIAL_EVENTS: ReadonlySet<string> = new Set([
  'node.enrollment_exchange',
  'node.credential_rotate',
  'node.credential_adopt',
  'node.decommission',
  'node.delete',
  'node.update',
]);

export function changesNodeCredentials(input: AuditInput): boolean {
  return input.outcome === 'success' && CREDENTIAL_EVENTS.has(input.action);
}

interface Entry {
  principal: NodePrincipal;
  generation: number;
  expiresAtMs: number;
}

export class NodeCredentialCache {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly ttlMs = 10 * 60_000,
    private readonly maxEntries = 20_000,
  ) {}

  /** The node `credentialHash` (the presented secret's SHA-256) was verified for, if still valid. */
  get(nodeId: string, credentialHash: string, generation: number, nowMs: number): NodePrincipal | undefined {
    const key = `${nodeId}:${credentialHash}`;
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.generation === generation && nowMs < entry.expiresAtMs) return entry.principal;
    this.entries.delete(key);
    return undefined;
  }

  set(principal: NodePrincipal, credentialHash: string, generation: number, nowMs: number): void {
    const key = `${principal.nodeId}:${credentialHash}`;
    if (!this.entries.has(key) && this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(key, { principal, generation, expiresAtMs: nowMs + this.ttlMs });
  }
}
