/**
 * The meters bench's reference: a bare aedes broker (no authentication, ACL, payload
 * validation or packet guard) on loopback, forked as its own process like the
 * generator. Its own process also contains a crash: under a publisher backlog aedes
 * can overflow the stack in its synchronous read loop (moscajs/aedes#193), and that
 * must end the reference, not the bench.
 */
import { once } from 'node:events';
import { createServer } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Aedes } from 'aedes';

export type RawBrokerRequest = { type: 'elu' } | { type: 'close' };
export type RawBrokerMessage =
  | { type: 'listening'; port: number }
  | { type: 'elu'; idle: number; active: number; utilization: number }
  | { type: 'closed' };

if (process.send) {
  const aedes = new Aedes();
  await aedes.listen();
  const server = createServer((socket) => {
    // The socket option the embedded broker sets, so the reference is not held back by Nagle.
    socket.setNoDelay(true);
    aedes.handle(socket);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  process.send({
    type: 'listening',
    port: typeof address === 'object' && address ? address.port : 0,
  } satisfies RawBrokerMessage);
  process.on('message', (request: RawBrokerRequest) => {
    if (request.type === 'elu') {
      process.send!({ type: 'elu', ...performance.eventLoopUtilization() } satisfies RawBrokerMessage);
      return;
    }
    aedes.close(() =>
      server.close(() => process.send!({ type: 'closed' } satisfies RawBrokerMessage, () => process.exit(0))),
    );
  });
  process.on('disconnect', () => process.exit(0));
}
