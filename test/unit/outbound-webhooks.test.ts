import { describe, expect, it } from 'vitest';
import {
  retryDelayMs,
  validateWebhookUrl,
  WEBHOOK_RETRY_DELAYS_MS,
} from '../../controller/src/modules/attendance/integrations/outbound-webhooks.rules.js';
import { webhookSignature } from '../../controller/src/modules/attendance/integrations/outbound-webhooks.sender.js';
import {
  isPrivateAddress,
  PrivateAddressError,
  publicOnlyLookup,
} from '../../controller/src/modules/notifications/index.js';

describe('webhook signature', () => {
  it('is v1= hex HMAC-SHA256 of "<timestamp>.<body>" keyed with the secret string', () => {
    // Computed independently: printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac whsec_test
    expect(webhookSignature('whsec_test', 1_700_000_000, '{"a":1}')).toBe(
      'v1=38877139021993b830af32feea6e18a8da83eb2f6e49ee50bd9e4cf4ca4d3789',
    );
  });
});

describe('retry schedule', () => {
  it('follows the table with at most ±20 % jitter, and stays on the last step', () => {
    expect(retryDelayMs(1, () => 0.5)).toBe(10_000);
    expect(retryDelayMs(1, () => 0)).toBe(8_000);
    expect(retryDelayMs(1, () => 1)).toBe(12_000);
    expect(retryDelayMs(2, () => 0.5)).toBe(30_000);
    expect(retryDelayMs(3, () => 0.5)).toBe(120_000);
    expect(retryDelayMs(99, () => 0.5)).toBe(WEBHOOK_RETRY_DELAYS_MS.at(-1));
  });
});

describe('webhook URL validation', () => {
  it('normalises good URLs', () => {
    expect(validateWebhookUrl('https://Hooks.Example.com/a?b=1')).toBe('https://hooks.example.com/a?b=1');
    expect(validateWebhookUrl('http://127.0.0.1:9/x', true)).toBe('http://127.0.0.1:9/x');
  });

  it.each([
    'ftp://example.com',
    'https://u:p@example.com',
    'https://example.com/#x',
    'nope',
    'http://127.0.0.1/',
    'http://localhost/',
    'http://[fe80::1]/',
  ])('refuses %s with 422', (url) => {
    expect(() => validateWebhookUrl(url)).toThrow(expect.objectContaining({ statusCode: 422 }));
  });
});

describe('private addresses', () => {
  it.each([
    '127.0.0.1',
    '10.0.0.1',
    '172.16.5.4',
    '192.168.0.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '224.0.0.1',
    '::1',
    '::',
    'fe80::1',
    'fd00::1',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    'not an address',
  ])('%s is private', (address) => {
    expect(isPrivateAddress(address)).toBe(true);
  });

  it.each(['93.184.216.34', '1.1.1.1', '2606:4700:4700::1111'])('%s is public', (address) => {
    expect(isPrivateAddress(address)).toBe(false);
  });

  it('the socket lookup refuses a name that resolves to loopback', async () => {
    const error = await new Promise<unknown>((resolve) =>
      publicOnlyLookup('localhost', {}, (err) => resolve(err)),
    );
    expect(error).toBeInstanceOf(PrivateAddressError);
  });
});
