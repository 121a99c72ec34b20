/**
 * A node's connection replaced by a newer one (the agent restarted, or reconnected before the
 * broker saw the old socket close) must not undo the newer one's presence: the replaced client's
 * late `status` (its `offline`, or its will) is dropped and counted, not dispatched.
 */
import type { Client, PublishPacket } from 'aedes';
import { describe, expect, it } from 'vitest';
import { AgentMessageDispatcher } from '../../controller/src/broker/agent-messages.js';
import { BrokerAuth } from '../../controller/src/broker/auth.js';
import { LocalEpochs } from '../../controller/src/broker/connection-epochs.js';
import { PresenceTracker } from '../../controller/src/broker/presence.js';
import { Metrics } from '../../controller/src/metrics.js';
import { nodeTopic } from '../../shared/src/mqtt.js';

const silent = { info() {}, warn() {}, error() {}, debug() {} } as never;

async function setup() {
  const statuses: string[] = [];
  const metrics = new Metrics();
  const auth = new BrokerAuth({
    directory: { authenticate: async () => ({ nodeId: 'n1', siteId: 's1' }) } as never,
    audit: { recordAlone: async () => {} } as never,
    dispatcher: new AgentMessageDispatcher({}, silent),
    presence: new PresenceTracker(
      {
        setPresence: async (_nodeId, online) => void statuses.push(online ? 'online' : 'offline'),
        markPresence: () => {},
      },
      new LocalEpochs(),
      silent,
    ),
    metrics,
    log: silent,
  });
  const connect = async (): Promise<Client> => {
    const client = { id: 'n1' } as Client;
    await new Promise<void>((resolve) =>
      auth.authenticate(client, 'n1', Buffer.from('n1.abcdefghijklmnopqrstuvwxyz'), () => resolve()),
    );
    return client;
  };
  const publishStatus = (client: Client, state: 'online' | 'offline') =>
    new Promise<void>((resolve) =>
      auth.authorizePublish(
        client,
        {
          topic: nodeTopic('n1', 'status'),
          payload: Buffer.from(JSON.stringify({ state })),
          qos: 1,
        } as PublishPacket,
        () => resolve(),
      ),
    );
  return { auth, statuses, metrics, connect, publishStatus };
}

describe('status from a replaced connection', () => {
  it('is dropped and counted; the current connection’s is dispatched', async () => {
    const { auth, statuses, metrics, connect, publishStatus } = await setup();
    const old = await connect();
    const current = await connect();
    auth.isReplaced = (client) => client === old;
    await publishStatus(current, 'online');
    await publishStatus(old, 'offline'); // late, from the replaced connection
    expect(statuses).toEqual(['online']);
    const stale = (await metrics.mqttMessages.get()).values.find((v) => v.labels.outcome === 'stale');
    expect(stale?.value).toBe(1);
  });
});
