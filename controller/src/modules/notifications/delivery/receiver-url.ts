/** What a receiver URL may be, for every outbox: checked when it is set (and again at connect time). */
import { ERROR_CODES } from '../../../../../shared/src/errors.js';
import { AppError } from '../../../core/errors.js';
import { privateHostProblem } from './network.js';

export const unprocessable = (message: string) => new AppError(422, ERROR_CODES.unprocessable, message);

/**
 * An http(s) URL with a host, no credentials and no fragment (and, unless allowed, not a
 * private address: network.ts); returns it normalised.
 */
export function validateReceiverUrl(raw: string, allowPrivateNetworks: boolean, maxLength: number): string {
  if (raw.length > maxLength) throw unprocessable(`url is longer than ${maxLength} characters`);
  if (/\s/.test(raw) || [...raw].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f))
    throw unprocessable('url must not contain spaces or control characters');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw unprocessable('url is not a valid absolute URL (e.g. https://example.com/hooks/earshot)');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw unprocessable(`url must use http or https, not ${url.protocol.replace(/:$/, '')}`);
  if (!url.hostname) throw unprocessable('url needs a host');
  if (url.username || url.password)
    throw unprocessable('url must not carry credentials (user:password@); verify the signature instead');
  if (url.hash) throw unprocessable('url must not have a #fragment (it is never sent)');
  const privateProblem = allowPrivateNetworks ? undefined : privateHostProblem(url);
  if (privateProblem)
    throw unprocessable(
      `${privateProblem}; receivers must be reachable on a public address (the operator can allow private networks with EARSHOT_WEBHOOK_ALLOW_PRIVATE_NETWORKS)`,
    );
  if (url.href.length > maxLength)
    throw unprocessable(`url is longer than ${maxLength} characters once normalised`);
  return url.href;
}
