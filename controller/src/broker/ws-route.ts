/**
 * MQTT over WebSocket on the controller's HTTP server (browsers, and agents behind
 * proxies that pass only HTTP). Needs @fastify/websocket registered once on the app.
 */
import type {} from '@fastify/websocket';
import type { FastifyPluginAsync } from 'fastify';
import { createWebSocketStream } from 'ws';
import type { MqttBroker } from './broker.js';

export function mqttWebSocketRoute(broker: MqttBroker, path: string): FastifyPluginAsync {
  return async (app) => {
    app.get(
      path,
      {
        websocket: true,
        // Public at the HTTP layer: the MQTT CONNECT inside carries the node credential,
        // checked by the broker like on TCP.
        config: { access: { public: true } },
        schema: { hide: true },
      },
      (socket, request) => {
        broker.acceptWebSocket(createWebSocketStream(socket), request.raw.socket);
      },
    );
  };
}
