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
});
