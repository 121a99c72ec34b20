/** AccessPolicy rows: one JSON document per policy name. */
import type { Db, Tx } from '../../db/client.js';

export class AccessPoliciesRepository {
  constructor(private readonly db: Db) {}

  async all(tx: Tx | Db = this.db): Promise<Map<string, string>> {
    const rows = await tx.accessPolicy.findMany();
    return new Map(rows.map((r) => [r.name, r.document]));
  }

  async put(tx: Tx, name: string, document: string): Promise<void> {
    await tx.accessPolicy.upsert({ where: { name }, create: { name, document }, update: { document } });
  }
}
