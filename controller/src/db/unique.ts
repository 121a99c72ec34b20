/** Unique-constraint races: two writers create the same row at once; the loser's try again sees it. */

/** Prisma's unique-constraint violation (P2002), on either provider. */
export function isUniqueViolation(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 'P2002';
}

/** Runs `attempt` (a whole transaction), once more if it lost a unique-constraint race. */
export async function retryOnUniqueViolation<T>(attempt: () => Promise<T>): Promise<T> {
  try {
    return await attempt();
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
    return attempt();
  }
}
