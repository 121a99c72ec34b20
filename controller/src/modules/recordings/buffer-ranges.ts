/** Byte ranges of a list of buffers read as one (the chunks of an upload's body). */

/** Views (no copy) of bytes [from, to) of the concatenated `buffers`; `to` defaults to the end. */
export function sliceBuffers(
  buffers: readonly Buffer[],
  from: number,
  to = Number.POSITIVE_INFINITY,
): Buffer[] {
  const slices: Buffer[] = [];
  let at = 0;
  for (const buffer of buffers) {
    const end = at + buffer.length;
    if (end > from && at < to) slices.push(buffer.subarray(Math.max(from, at) - at, Math.min(to, end) - at));
    at = end;
    if (at >= to) break;
  }
  return slices;
}
