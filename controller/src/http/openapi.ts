/** The OpenAPI document, generated from the route schemas (`/openapi.json`, `/openapi.yaml`). */
import fastifySwagger from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';
import { packageVersion } from '../../../shared/src/version.js';
import { SESSION_COOKIE } from './route-access.js';

export async function installOpenApi(app: FastifyInstance): Promise<void> {
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Earshot controller API', version: packageVersion() },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer' },
          session: { type: 'apiKey', in: 'cookie', name: SESSION_COOKIE },
        },
      },
    },
  });
}
