/**
 * The health module's pure rules: what an agent's report does to the stored event of its id
 * (health-ingest.ts), and which lifecycle steps each status allows (health-lifecycle.ts).
 */
import { describe, expect, it } from 'vitest';
import type { HealthEvent } from '../../controller/src/db/rows.js';
import { planIngest } from '../../controller/src/modules/health/health-ingest.js';
import {
  effectiveStatus,
  refusal,
  transition,
} from '../../controller/src/modules/health/health-lifecycle.js';
import type { HealthEventMessage } from '../../shared/src/mqtt.js';

const NOW = new Date('2030-03-01T12:00:00Z');
const report = (extra: Partial<HealthEventMessage> = {}): HealthEventMessage => ({
  id: 'e-1',
  type: 'clipping',
  severity: 'warning',
  state: 'open',
  message: 'clipping on 1',
  firstSeenAt: '2030-03-01T10:00:00Z',
  lastSeenAt: '2030-03-01T10:01:00Z',
  count: 2,
  ...extra,
});
const stored = (extra: Partial<HealthEvent> = {}): HealthEvent => ({
  id: 'e-1',
  nodeId: 'n-1',
  type: 'clipping',
  severity: 'warning',
  status: 'open',
  channel: null,
  message: 'clipping on 1',
  measured: '{}',
  firstSeenAt: new Date('2030-03-01T10:00:00Z'),
  lastSeenAt: new Date('2030-03-01T10:01:00Z'),
  count: 2,
  resolvedAt: null,
  suppressedUntil: null,
  acknowledgedBy: null,
  acknowledgedAt: null,
  source: 'agent',
  createdAt: NOW,
  updatedAt: NOW,
  ...extra,
});

describe('planIngest', () => {
  it('creates a new event, resolved at once when reported cleared', () => {
    expect(planIngest('n-1', null, report())).toMatchObject({ kind: 'create', data: { status: 'open' } });
    const cleared = planIngest('n-1', null, report({ state: 'resolved' }));
    expect(cleared).toMatchObject({ kind: 'create', data: { status: 'resolved' } });
  });

  it('changes nothing for a re-send or an older report', () => {
    expect(planIngest('n-1', stored(), report())).toEqual({ kind: 'unchanged' });
    expect(planIngest('n-1', stored(), report({ lastSeenAt: '2030-03-01T10:00:30Z', count: 9 }))).toEqual({
      kind: 'unchanged',
    });
  });

  it('updates with a later report, resolving or reopening when the state changed', () => {
    const later = planIngest('n-1', stored(), report({ lastSeenAt: '2030-03-01T10:05:00Z', count: 5 }));
    expect(later).toMatchObject({ kind: 'update', change: null, data: { count: 5 } });
    const cleared = planIngest(
      'n-1',
      stored({ status: 'acknowledged' }),
      report({ state: 'resolved', lastSeenAt: '2030-03-01T10:05:00Z' }),
    );
    expect(cleared).toMatchObject({ kind: 'update', change: 'resolved', data: { status: 'resolved' } });
    const back = planIngest(
      'n-1',
      stored({ status: 'resolved' }),
      report({ lastSeenAt: '2030-03-01T10:09:00Z' }),
    );
    expect(back).toMatchObject({
      kind: 'update',
      change: 'reopened',
      data: { status: 'open', resolvedAt: null },
    });
  });

  it('refuses another node’s event, a changed type, a foreign node id and time running backwards', () => {
    expect(() => planIngest('n-2', stored(), report({ lastSeenAt: '2030-03-01T11:00:00Z' }))).toThrow(
      /another node/,
    );
    expect(() => planIngest('n-1', stored(), report({ type: 'silence' }))).toThrow(/clipping event/);
    expect(() => planIngest('n-1', null, report({ nodeId: 'n-2' }))).toThrow(/names node n-2/);
    expect(() => planIngest('n-1', null, report({ firstSeenAt: '2030-03-01T11:00:00Z' }))).toThrow(
      /firstSeenAt is after lastSeenAt/,
    );
  });
});

describe('lifecycle', () => {
  const row = (status: string, suppressedUntil: Date | null = null) => ({
    status,
    suppressedUntil,
    acknowledgedBy: status === 'acknowledged' ? 'alice' : null,
  });

  it('reads a suppression that ended as open', () => {
    expect(effectiveStatus(row('suppressed', new Date(NOW.getTime() + 1000)), NOW)).toBe('suppressed');
    expect(effectiveStatus(row('suppressed', new Date(NOW.getTime() - 1000)), NOW)).toBe('open');
  });

  it('allows each step only from its statuses, saying why not', () => {
    expect(refusal(row('open'), 'acknowledge', NOW)).toBeNull();
    expect(refusal(row('acknowledged'), 'acknowledge', NOW)).toMatch(/already acknowledged by alice/);
    expect(refusal(row('resolved'), 'suppress', NOW)).toMatch(/resolved: reopen it/);
    expect(refusal(row('open'), 'reopen', NOW)).toMatch(/already open/);
    expect(refusal(row('resolved'), 'reopen', NOW)).toBeNull();
    expect(() => transition(row('resolved'), 'resolve', {}, NOW, 'bob')).toThrow(/reopen it before/);
  });

  it('sets what each step means', () => {
    expect(transition(row('open'), 'acknowledge', {}, NOW, 'bob')).toMatchObject({
      status: 'acknowledged',
      acknowledgedBy: 'bob',
    });
    const until = new Date(NOW.getTime() + 3600_000).toISOString();
    expect(transition(row('open'), 'suppress', { until }, NOW, 'bob')).toMatchObject({
      status: 'suppressed',
    });
    expect(() => transition(row('open'), 'suppress', {}, NOW, 'bob')).toThrow(/until/);
    expect(() => transition(row('open'), 'suppress', { until: '2031-03-01T00:00:00Z' }, NOW, 'bob')).toThrow(
      /90 days/,
    );
    expect(transition(row('resolved'), 'reopen', {}, NOW, 'bob')).toMatchObject({
      status: 'open',
      resolvedAt: null,
      acknowledgedBy: null,
    });
  });
});
