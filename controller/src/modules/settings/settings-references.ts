/**
 * References between settings families (a family's `references`: a body field naming objects
 * of another family by id, e.g. an upload policy's provider). A write naming an object that
 * does not exist is refused (the problems name it), and an object that others name is in use:
 * its delete is refused with a 409 naming them. Both are found from the definitions alone.
 */
import type { SettingsRepository } from './settings.repository.js';
import type { SettingsFamily, SettingsUser } from './settings-family.js';

type Body = Record<string, unknown>;

/** The ids a reference field holds: one id, a list of them, or none (null). */
export function referencedIds(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

export class SettingsReferences {
  constructor(
    private readonly repo: SettingsRepository,
    private readonly families: readonly SettingsFamily[],
  ) {
    for (const f of families)
      for (const ref of f.references ?? [])
        if (!families.some((g) => g.name === ref.family))
          throw new Error(
            `settings family "${f.name}": ${ref.field} names an unknown family "${ref.family}"`,
          );
  }

  /** A problem for each id in `body` naming no object of the referenced family. */
  async missing(family: SettingsFamily, body: Body): Promise<string[]> {
    const problems: string[] = [];
    for (const ref of family.references ?? []) {
      const target = this.families.find((g) => g.name === ref.family)!;
      const ids = referencedIds(body[ref.field]);
      if (ids.length === 0) continue;
      const found = new Set((await this.repo.findMany(target.name, ids)).map((row) => row.id));
      for (const id of ids.filter((i) => !found.has(i)))
        problems.push(`body.${ref.field}: there is no ${target.title} ${id}`);
    }
    return problems;
  }

  /** The objects of any family whose references name `id`, an object of `family`. */
  async referrers(family: SettingsFamily, id: string): Promise<SettingsUser[]> {
    const users: SettingsUser[] = [];
    for (const referrer of this.families) {
      const fields = (referrer.references ?? []).filter((r) => r.family === family.name).map((r) => r.field);
      if (fields.length === 0) continue;
      for (const row of await this.repo.mentioning(referrer.name, id)) {
        const body = JSON.parse(row.body) as Body;
        if (fields.some((f) => referencedIds(body[f]).includes(id)))
          users.push({ type: referrer.title, id: row.id, name: row.name });
      }
    }
    return users;
  }
}
