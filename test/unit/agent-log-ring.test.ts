import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../agent/src/support/log.js';
import { LogRing, scrubSecrets } from '../../agent/src/support/log-ring.js';

const SECRET = 'A'.repeat(20) + 'b_c-d'.repeat(5); // 45 base64url characters, as a credential's secret

describe('the agent log ring', () => {
  it('keeps the last lines, oldest first, without credentials, bearer values or named secrets', () => {
    const ring = new LogRing(3);
    const log = ring.tee(silentLogger());
    log.debug('debug lines are not kept');
    log.info('one');
    log.warn({ credential: 'node-1.whatever', jobId: 'j1' }, 'two');
    log.error({ err: new Error(`refused node-1.${SECRET}`) }, 'three');
    log.info(`authorization: Bearer ${SECRET}`);
    const lines = ring.recent.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => l.msg)).toEqual(['two', 'three', 'authorization: Bearer [redacted]']);
    expect(lines[0]).toMatchObject({ level: 'warn', credential: '[redacted]', jobId: 'j1' });
    expect(lines[1]).toMatchObject({ level: 'error', err: 'refused node-1.[redacted]' });
    expect(ring.recent.join('\n')).not.toContain(SECRET);
  });

  it('scrubs secret-shaped strings but leaves ordinary words and ids', () => {
    expect(scrubSecrets(`node-1.${SECRET} rec-42 ok`)).toBe('node-1.[redacted] rec-42 ok');
  });
});
