import { describe, expect, it } from 'vitest';
import {
  ApiError,
  contentRangeFor,
  isRetryable,
  isStaleLease,
  NetworkError,
} from '../../agent/src/link/http-client.js';
import { nextUploadStep } from '../../agent/src/uploads/uploader.js';

const local = { sizeBytes: 1000, sha256: 'a'.repeat(64) };
const status = (receivedBytes: number, complete = false, sha256: string | null = null) => ({
  recordingId: 'r1',
  receivedBytes,
  complete,
  sha256,
});

describe('content-range for a resumed upload', () => {
  it('is absent for a whole-file PUT from byte 0', () => {
    expect(contentRangeFor(0, 1000)).toBeUndefined();
  });

  it('covers the rest of the file from the offset', () => {
    expect(contentRangeFor(400, 1000)).toBe('bytes 400-999/1000');
    expect(contentRangeFor(999, 1000)).toBe('bytes 999-999/1000');
  });

  it('is the empty range at the end when the controller holds every byte (the completing PUT)', () => {
    expect(contentRangeFor(1000, 1000)).toBe('bytes */1000');
  });

  it('refuses offsets outside the file', () => {
    expect(() => contentRangeFor(1001, 1000)).toThrow(RangeError);
    expect(() => contentRangeFor(-1, 1000)).toThrow(RangeError);
    expect(() => contentRangeFor(1.5, 1000)).toThrow(RangeError);
  });
});

describe('next upload step from the controller status', () => {
  it('sends from the offset the controller holds', () => {
    expect(nextUploadStep(status(0), local)).toEqual({ kind: 'send', offset: 0 });
    expect(nextUploadStep(status(512), local)).toEqual({ kind: 'send', offset: 512 });
  });

  it('is confirmed only when complete with the same sha256', () => {
    expect(nextUploadStep(status(1000, true, local.sha256), local)).toEqual({ kind: 'confirmed' });
    expect(nextUploadStep(status(1000, true, 'b'.repeat(64)), local).kind).toBe('conflict');
    expect(nextUploadStep(status(1000, true, null), local).kind).toBe('conflict');
  });

  it('treats an impossible offset as a conflict rather than guessing', () => {
    expect(nextUploadStep(status(1001), local).kind).toBe('conflict');
    expect(nextUploadStep(status(-5), local).kind).toBe('conflict');
  });

  it('asks the controller to complete a file it holds whole instead of giving up', () => {
    // The empty PUT at the final offset (content-range bytes */1000): the controller verifies and completes.
    expect(nextUploadStep(status(1000), local)).toEqual({ kind: 'send', offset: 1000 });
  });
});

describe('failure classification', () => {
  it('retries network errors, 408, 429 and 502–504; not other statuses', () => {
    expect(isRetryable(new NetworkError('GET / failed'))).toBe(true);
    for (const code of [408, 429, 502, 503, 504])
      expect(isRetryable(new ApiError(code, 'x', 'x'))).toBe(true);
    for (const code of [400, 401, 403, 404, 409, 413, 422, 500])
      expect(isRetryable(new ApiError(code, 'x', 'x'))).toBe(false);
    expect(isRetryable(new Error('bug'))).toBe(false);
  });

  it('recognises a stale lease by status and code', () => {
    expect(isStaleLease(new ApiError(409, 'stale_lease', 'x'))).toBe(true);
    expect(isStaleLease(new ApiError(409, 'offset_mismatch', 'x'))).toBe(false);
  });
});
