/**
 * The audit chain's hash: SHA-256 over the previous hash and the RFC 8785 canonical
 * JSON of the event's own fields. Editing any field (its scope included), or deleting
 * or reordering an event, breaks the link to the next one.
 */
import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import type { NewAuditRow } from './audit.repository.js';

export const GENESIS_HASH = '0'.repeat(64);

export function hashAuditEvent(row: Omit<NewAuditRow, 'hash'>): string {
  return createHash('sha256')
    .update(`${row.prevHash}\n${canonicalAuditFields(row)}`)
    .digest('hex');
}

/**
 * What the hash covers besides the previous hash. PostgreSQL's raw append (audit.repository.ts)
 * hashes it in SQL, as sha256(prevHash || '\n' || this), under the chain lock.
 */
export function canonicalAuditFields(row: Omit<NewAuditRow, 'hash' | 'prevHash'>): string {
  const fields = {
    id: row.id,
    at: row.at.toISOString(),
    actorType: row.actorType,
    actorId: row.actorId,
    actorName: row.actorName,
    permission: row.permission,
    action: row.action,
    targetType: row.targetType,
    targetId: row.targetId,
    outcome: row.outcome,
    reason: row.reason,
    before: row.before,
    after: row.after,
    requestId: row.requestId,
    sourceIp: row.sourceIp,
    // Scope fields came later: hashed only when set, so events written before still verify.
    ...(row.siteId ? { siteId: row.siteId } : {}),
    ...(row.nodeId ? { nodeId: row.nodeId } : {}),
    ...(row.guildId ? { guildId: row.guildId } : {}),
  };
  return canonicalize(fields) as string;
}
