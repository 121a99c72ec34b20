/**
 * Facet counts (`GET …/facets`): for one field, how many of the listed objects hold each value,
 * the most frequent first, so a client can label its filters with what choosing one would show.
 */
import Type, { type TSchema } from 'typebox';

export interface FacetCount<V> {
  value: V;
  count: number;
}

/**
 * Tallies `value` over `rows`; each row counts `weight` (1, or a group's count when the rows are
 * a database's groups). Values are compared with `Map` equality (strings, booleans).
 */
export function tally<R, V extends string | boolean>(
  rows: readonly R[],
  value: (row: R) => V,
  weight: (row: R) => number = () => 1,
): FacetCount<V>[] {
  const counts = new Map<V, number>();
  for (const row of rows) counts.set(value(row), (counts.get(value(row)) ?? 0) + weight(row));
  return [...counts].map(([v, count]) => ({ value: v, count })).sort((a, b) => b.count - a.count);
}

/** The schema of one field's counts. */
export function FacetCounts<T extends TSchema>(value: T) {
  return Type.Array(Type.Object({ value, count: Type.Integer() }));
}
