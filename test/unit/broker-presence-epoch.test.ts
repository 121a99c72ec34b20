/**
 * Presence ordered by connection epoch (controller/src/broker/presence.ts,
 * connection-epochs.ts): a status of an older connection than one applied, an `online` of a
 * connection already offline, or an `offline` older than the node's newest connection changes
 * nothing; the stamp carries the epoch through the broker and an agent cannot forge one.
 */
import { describe, expect, it } from 'vitest';
import {
  LocalEpochs,
  readStampedStatus,
  stampStatus,
} from '../../controller/src/broker/connection-epochs.js';
import { PresenceTracker } from '../../controller/src/broker/presence.js';
import { decodePayload } from '../../shared/src/mqtt.js';

const silent = { info() {}, warn() {}, error() {}, debug() {} } as never;

function tracker() {
  const written: string[] = [];
  const memory: string[] = [];
  const epochs = new LocalEpochs();
  const presence = new PresenceTracker(
    {
      setPresence: async (nodeId, online) => void written.push(`${nodeId} ${online ? 'online' : 'offline'}`),
      markPresence: (nodeId, online) => void memory.push(`${nodeId} ${online ? 'online' : 'offline'}`),
    },
    epochs,
    silent,
  );
  return { presence, written, memory, from: { nodeId: 'n1', siteId: 's1' } };
}

describe('presence by connection epoch', () => {
  it('a stale will (older connection) loses to the newer connection, wherever it is applied', async () => {
    const { presence, written, memory, from } = tracker();
    const old = await presence.connected('n1');
    await presence.report(from, { state: 'online' }, old);
    const fresh = await presence.connected('n1');
    await presence.observe('n1', { state: 'online' }, fresh); // the node reconnected elsewhere
    expect(await presence.isStale('n1', old, 'offline')).toBe(true);
    await presence.report(from, { state: 'offline' }, old); // the old connection's will, late
    await presence.observe('n1', { state: 'offline' }, old);
    expect(written).toEqual(['n1 online']);
    expect(memory).toEqual(['n1 online']);
  });

  it('an offline older than the newest connection handed out is stale before that one said online', async () => {
    const { presence, written, from } = tracker();
    const old = await presence.connected('n1');
    await presence.report(from, { state: 'online' }, old);
    await presence.connected('n1'); // authenticated on some replica, status not seen yet
    await presence.report(from, { state: 'offline' }, old);
    expect(written).toEqual(['n1 online']);
  });

  it('the same connection: online then offline lands as offline, a late online of it changes nothing', async () => {
    const { presence, written, memory, from } = tracker();
    const epoch = await presence.connected('n1');
    await presence.report(from, { state: 'online' }, epoch);
    await presence.report(from, { state: 'offline' }, epoch);
    await presence.observe('n1', { state: 'online' }, epoch); // relayed late
    expect(written).toEqual(['n1 online', 'n1 offline']);
    expect(memory).toEqual([]);
  });

  it('the stamp round-trips; a payload without one, or an invalid status, is not a stamped status', () => {
    const stamped = stampStatus({ state: 'online', agentVersion: '1.2.3' }, 42);
    expect(readStampedStatus(stamped)).toEqual({
      status: { state: 'online', agentVersion: '1.2.3' },
      epoch: 42,
    });
    expect(readStampedStatus(Buffer.from('{"state":"online"}'))).toBeUndefined();
    expect(readStampedStatus(Buffer.from('{"state":"maybe","epoch":1}'))).toBeUndefined();
    expect(readStampedStatus(Buffer.from('not json'))).toBeUndefined();
    // An agent cannot send an epoch of its own: the contract's closed schema refuses it.
    expect(decodePayload('status', '{"state":"offline","epoch":999999999}').ok).toBe(false);
  });
});
