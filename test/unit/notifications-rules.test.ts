/** The pure rules of notification integrations: signatures, routing, conditions, formats, answers. */
import { describe, expect, it } from 'vitest';
import type { Change } from '../../controller/src/core/change-feed.js';
import { feishuSign, judgeAttempt } from '../../controller/src/modules/notifications/index.js';
import {
  attemptRequest,
  checkAnswer,
  conditionKey,
  DEFAULT_RULES,
  messageBody,
  routes,
  urlHint,
} from '../../controller/src/modules/notifications/notifications.rules.js';

const at = new Date('2025-01-01T00:00:00.000Z');
const health = (over: Partial<Change> = {}, data: Record<string, unknown> = {}): Change => ({
  type: 'health.opened',
  at,
  scope: { siteId: 'site-a', nodeId: 'node-1' },
  subject: { type: 'health_event', id: 'ev-1' },
  data: { type: 'silence', severity: 'critical', status: 'open', message: 'quiet', ...data },
  ...over,
});

describe('feishu sign', () => {
  it('is base64 HMAC-SHA256 keyed with "<timestamp>\\n<secret>" over an empty message', () => {
    // Computed independently: printf '' | openssl dgst -sha256 -hmac "1700000000\nfeishu-secret" -binary | base64
    expect(feishuSign('feishu-secret', 1_700_000_000)).toBe('OrBzY1Y01Gq+HgJsl+7OfWcMVwc7YocohQm5iiZwjhU=');
  });

  it('is added to the stored body per attempt, with the timestamp as a string', () => {
    const body = messageBody('feishu', 'd1', health(), at);
    const request = attemptRequest(
      { kind: 'feishu', id: 'd1', event: 'health.opened', body, secret: 'feishu-secret' },
      1_700_000_000,
      '1.0.0',
    );
    expect(JSON.parse(request.body)).toEqual({
      timestamp: '1700000000',
      sign: 'OrBzY1Y01Gq+HgJsl+7OfWcMVwc7YocohQm5iiZwjhU=',
      msg_type: 'text',
      content: { text: '[CRITICAL] silence opened on node node-1: quiet' },
    });
    expect(request.readBody).toBe(true);
  });
});

describe('routing', () => {
  it('takes the default events of warning and up, anywhere', () => {
    expect(routes(DEFAULT_RULES, health())).toBe(true);
    expect(routes(DEFAULT_RULES, health({}, { severity: 'info' }))).toBe(false);
    expect(routes(DEFAULT_RULES, health({ type: 'health.changed' }))).toBe(false);
    expect(routes(DEFAULT_RULES, health({ type: 'recording.state' }))).toBe(false);
  });

  it('filters by health type and site; a fleet-wide event only without a site filter', () => {
    const rules = { ...DEFAULT_RULES, healthTypes: ['audit_chain' as const], siteIds: null };
    expect(routes(rules, health())).toBe(false);
    const chain = health({ scope: { siteId: null, nodeId: null } }, { type: 'audit_chain' });
    expect(routes(rules, chain)).toBe(true);
    expect(routes({ ...rules, siteIds: ['site-a'] }, chain)).toBe(false);
  });

  it('a condition is a health type on a node, or a node’s presence', () => {
    expect(conditionKey(health())).toBe('health:silence:node-1');
    expect(conditionKey(health({ subject: { type: 'health_event', id: 'ev-2' } }))).toBe(
      'health:silence:node-1',
    );
    const offline: Change = {
      type: 'node.offline',
      at,
      scope: { siteId: 's', nodeId: 'node-1' },
      subject: { type: 'node', id: 'node-1' },
      data: { name: 'Hall A', online: false },
    };
    expect(conditionKey(offline)).toBe('node:node-1');
    expect(JSON.parse(messageBody('slack', 'd', offline, at))).toEqual({
      text: '[OFFLINE] node Hall A is offline',
    });
  });
});

describe('answers', () => {
  it('a Feishu 200 with a non-zero code is an error; a redirect is never delivered', () => {
    const refused = checkAnswer('feishu', {
      kind: 'response',
      status: 200,
      body: '{"code":19021,"msg":"sign match fail"}',
    });
    expect(refused).toEqual({ kind: 'error', message: 'feishu answered code 19021: sign match fail' });
    expect(checkAnswer('feishu', { kind: 'response', status: 200, body: '{"code":0}' })).toMatchObject({
      status: 200,
    });
    expect(checkAnswer('slack', { kind: 'response', status: 200, body: '{"code":1}' })).toMatchObject({
      status: 200,
    });
    const redirected = judgeAttempt({ kind: 'response', status: 301 }, 1, at, () => 0.5);
    expect(redirected).toMatchObject({
      outcome: 'retry',
      error: 'the receiver answered 301 (redirects are not followed)',
    });
  });

  it('shows a URL as its origin and last characters', () => {
    expect(urlHint('https://hooks.slack.com/services/T0/B0/secret-token-abcd')).toBe(
      'https://hooks.slack.com/…abcd',
    );
    expect(urlHint('https://example.com/')).toBe('https://example.com');
  });
});
