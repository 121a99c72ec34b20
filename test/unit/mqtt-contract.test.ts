import { describe, expect, it } from 'vitest';
import {
  aclFor,
  decodePayload,
  nodeTopic,
  parseNodeTopic,
  TOPIC_NAMES,
  TOPICS,
} from '../../shared/src/mqtt.js';

const frame = {
  seq: 1,
  capturedAtMs: 1_700_000_000_000,
  windowMs: 100,
  sampleRate: 48000,
  channels: [{ peakDbfs: -20, rmsDbfs: -23, clipCount: 0 }],
};

describe('MQTT contract', () => {
  it('every topic has an ACL rule: agents publish theirs, subscribe only to cmd', () => {
    for (const name of TOPIC_NAMES) {
      const topic = nodeTopic('n1', name);
      const pub = aclFor('n1', 'publish', topic);
      const sub = aclFor('n1', 'subscribe', topic);
      expect(pub.allowed).toBe(TOPICS[name].publisher === 'agent');
      expect(sub.allowed).toBe(TOPICS[name].publisher === 'controller');
    }
  });

  it("refuses other nodes' topics, wildcards and foreign topics", () => {
    expect(aclFor('n1', 'publish', nodeTopic('n2', 'meters')).allowed).toBe(false);
    expect(aclFor('n1', 'subscribe', nodeTopic('n2', 'cmd')).allowed).toBe(false);
    expect(aclFor('n1', 'subscribe', 'earshot/v1/nodes/+/cmd').allowed).toBe(false);
    expect(aclFor('n1', 'subscribe', 'earshot/v1/nodes/n1/#').allowed).toBe(false);
    expect(aclFor('n1', 'publish', '$SYS/broker').allowed).toBe(false);
    expect(aclFor('n1', 'publish', 'earshot/v1/nodes/n1/meters/extra').allowed).toBe(false);
  });

  it('never builds a topic from an id holding + # or /', () => {
    for (const bad of ['a/b', 'a+', '#', '', 'x'.repeat(65)])
      expect(() => nodeTopic(bad, 'meters')).toThrow();
    expect(parseNodeTopic('earshot/v1/nodes/a+b/meters')).toBeUndefined();
  });

  it('decodes valid payloads and explains invalid ones', () => {
    expect(decodePayload('meters', JSON.stringify(frame))).toEqual({ ok: true, payload: frame });
    expect(decodePayload('meters', '{nope')).toEqual({ ok: false, error: 'payload is not JSON' });
    const wrong = decodePayload('meters', JSON.stringify({ ...frame, channels: [] }));
    expect(wrong.ok).toBe(false);
    expect(decodePayload('meters', JSON.stringify({ ...frame, extra: 1 })).ok).toBe(false);
    expect(decodePayload('meters', 'x'.repeat(70_000))).toEqual({ ok: false, error: 'payload too large' });
  });

  it('decodes health event reports and refuses malformed ones', () => {
    const event = {
      id: 'silence-1-1700000000000',
      type: 'silence',
      severity: 'warning',
      state: 'open',
      channel: 1,
      message: 'channel 1 silent',
      values: { rmsDbfs: -80, seconds: 60 },
      firstSeenAt: '2030-01-01T10:00:00Z',
      lastSeenAt: '2030-01-01T10:01:00.500Z',
      count: 1,
    };
    expect(decodePayload('events', JSON.stringify(event))).toEqual({ ok: true, payload: event });
    for (const bad of [
      { ...event, id: 'a/b' },
      { ...event, id: '' },
      { ...event, type: 'gremlins' },
      { ...event, state: 'acknowledged' },
      { ...event, firstSeenAt: 'yesterday' },
      { ...event, count: 0 },
      { ...event, channel: 65 },
      { ...event, nodeId: 'a+b' },
      { ...event, values: { 'bad key': 1 } },
      { ...event, values: { nested: { no: 1 } } },
      { ...event, extra: true },
    ])
      expect(decodePayload('events', JSON.stringify(bad)).ok, JSON.stringify(bad)).toBe(false);
  });
});
