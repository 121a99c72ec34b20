/**
 * The capture's sample format: signed little-endian integer PCM, 16 or 24 bits, each sample
 * packed in 2 or 3 bytes (what sox writes as `--type raw --encoding signed-integer --bits N`,
 * and the sample layout of a PCM WAV of that depth). One place for the arithmetic every
 * reader of the PCM shares: the tap, the meters, the recorder and the WAV writer.
 */

export const BIT_DEPTHS = [16, 24] as const;
export type BitDepth = (typeof BIT_DEPTHS)[number];

/** What a capture that names no depth (an older controller's config) runs at. */
export const DEFAULT_BIT_DEPTH: BitDepth = 16;

export function isBitDepth(value: unknown): value is BitDepth {
  return (BIT_DEPTHS as readonly unknown[]).includes(value);
}

export function bytesPerSample(bitDepth: BitDepth = DEFAULT_BIT_DEPTH): number {
  return bitDepth / 8;
}

/** Full scale: a sample of this magnitude is 0 dBFS (sox's convention, 32768 at 16 bits). */
export function fullScale(bitDepth: BitDepth = DEFAULT_BIT_DEPTH): number {
  return 2 ** (bitDepth - 1);
}

/** Reads one sample (signed, little-endian) of `bitDepth` bits at `offset`. */
export function sampleReader(
  bitDepth: BitDepth = DEFAULT_BIT_DEPTH,
): (data: Buffer, offset: number) => number {
  return bitDepth === 16
    ? (data, offset) => data.readInt16LE(offset)
    : (data, offset) => data.readIntLE(offset, 3);
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Decodes `count` samples of `data` from byte `offset` into `out` from `outOffset`, as integer
 * values (−32768…32767 at 16 bits): once per chunk, for every meter that reads it.
 */
export function decodeSamples(
  data: Buffer,
  offset: number,
  count: number,
  bitDepth: BitDepth,
  out: Float32Array,
  outOffset = 0,
): void {
  const at = data.byteOffset + offset;
  if (bitDepth === 16 && LITTLE_ENDIAN && at % 2 === 0) {
    out.set(new Int16Array(data.buffer, at, count), outOffset);
    return;
  }
  const step = bytesPerSample(bitDepth);
  for (let i = 0, o = offset; i < count; i++, o += step)
    out[outOffset + i] =
      bitDepth === 16
        ? ((data[o]! | (data[o + 1]! << 8)) << 16) >> 16
        : ((data[o]! | (data[o + 1]! << 8) | (data[o + 2]! << 16)) << 8) >> 8;
}
