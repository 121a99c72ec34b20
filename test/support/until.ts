/** Polls `condition` until it holds; fails after `timeoutMs` naming `what`. For hooks and tests alike. */
export async function until(
  condition: () => boolean | Promise<boolean>,
  { timeoutMs = 20_000, intervalMs = 50, what = 'the condition' } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${what} did not hold within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
