/**
 * One outbound POST, as every outbox sends it: node:http rather than fetch, so redirects are
 * never followed, the socket's DNS lookup can be checked (network.ts), and each attempt gets
 * its own connection (`agent: false`: no keep-alive socket the receiver already closed is
 * reused). Resolves with the answer's status, and with its first 4 KiB when `readBody` (some
 * receivers answer 200 with an error in the body); rejects on no answer.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { PrivateAddressError, privateHostProblem, publicOnlyLookup } from './network.js';
import { DELIVERY_ATTEMPT_TIMEOUT_MS } from './retry.js';

const MAX_BODY_BYTES = 4096;

export function postOnce(
  url: URL,
  headers: Record<string, string>,
  body: string,
  allowPrivate: boolean,
  readBody = false,
): Promise<{ status: number; body?: string }> {
  if (!allowPrivate && privateHostProblem(url)) return Promise.reject(new PrivateAddressError());
  return new Promise((resolve, reject) => {
    const request = (url.protocol === 'https:' ? httpsRequest : httpRequest)(
      url,
      {
        method: 'POST',
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        agent: false,
        signal: AbortSignal.timeout(DELIVERY_ATTEMPT_TIMEOUT_MS),
        ...(allowPrivate ? {} : { lookup: publicOnlyLookup }),
      },
      (response) => {
        const status = response.statusCode ?? 0;
        if (!readBody) {
          resolve({ status });
          response.destroy();
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          if (size < MAX_BODY_BYTES) chunks.push(chunk);
          size += chunk.length;
        });
        response.on('end', () =>
          resolve({ status, body: Buffer.concat(chunks).subarray(0, MAX_BODY_BYTES).toString('utf8') }),
        );
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

/** A failed attempt's error in words (stored in the delivery log; never the URL). */
export function describeError(error: unknown): string {
  const err = error as Error & { code?: string };
  if (err?.name === 'TimeoutError' || err?.name === 'AbortError')
    return `no answer within ${DELIVERY_ATTEMPT_TIMEOUT_MS / 1000} s`;
  if (error instanceof PrivateAddressError) return err.message;
  return err?.code ? `${err.code}: ${err.message}` : String(err?.message ?? error);
}
