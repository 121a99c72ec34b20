/**
 * The operator console's files at `/`: the SPA shell (`index.html`) for `/` and every unknown
 * page path, the hashed build output under `/assets/`. Never the shell for a path that belongs
 * to the API or the probes (`/api/…`, `/metrics`, `/openapi.*`, `/healthz`, `/readyz`, `/mqtt`,
 * `/docs`) nor for a missing file (a name with an extension): those get the API's JSON 404.
 * Public by nature: the shell holds no data; everything it shows comes from the API, which
 * decides. Without a build, the shell is a JSON 404 that says how to build it.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import { ERROR_CODES } from '../../../../shared/src/errors.js';
import { AppError } from '../../core/errors.js';

/** Paths that are never console pages (the API's and the probes' own 404 answers them). */
const RESERVED = /^\/(?:api|metrics|openapi|healthz|readyz|mqtt|docs)(?:[/.?]|$)/;
/** A file name (the last segment has an extension): a missing file is a 404, not the shell. */
const FILE_LIKE = /\/[^/]*\.[^/]*$/;
/** A built asset's name: `index-<hash>.js`, `index-<hash>.css`. */
const ASSET_NAME = /^[\w-]+(?:\.[\w-]+)+$/;

/**
 * Only this origin's scripts, styles and connections (the API, its Server-Sent Events and
 * WebSockets); no inline script, no plugins, no framing, no <base> rewrites.
 */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "media-src 'self' blob:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const SHELL_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': CONSOLE_CSP,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  // The shell names the current hashed assets: always ask again.
  'cache-control': 'no-store',
};

const HIDDEN = { hide: true } as const;

export function consoleRoutes(dir: string): FastifyPluginAsyncTypebox {
  return async (app) => {
    // sendFile only: the routes below decide what is served (and declare their access). The
    // build writes each asset's `.br` and `.gz` too: sent to a browser that accepts them.
    await app.register(fastifyStatic, { root: dir, serve: false, preCompressed: true });

    async function shell(reply: FastifyReply) {
      const html = await readFile(join(dir, 'index.html'), 'utf8').catch(() => undefined);
      if (html === undefined)
        throw new AppError(
          404,
          ERROR_CODES.notFound,
          'The operator console is not built: run `npm run build` (it writes dist/console/).',
        );
      return reply.headers(SHELL_HEADERS).send(html);
    }

    app.get('/', { config: { access: { public: true } }, schema: HIDDEN }, async (_request, reply) =>
      shell(reply),
    );

    // Content-hashed names: a new build has new names, so these are cached for a year.
    app.get('/assets/*', { config: { access: { public: true } }, schema: HIDDEN }, async (request, reply) => {
      const name = (request.params as { '*': string })['*'];
      // Vite's output is flat file names: anything else (a sub-path, `..`) is not ours.
      if (!ASSET_NAME.test(name)) return reply.callNotFound();
      reply.header('x-content-type-options', 'nosniff');
      reply.header('vary', 'accept-encoding'); // a cache must not hand the brotli copy to others
      return reply.sendFile(`assets/${name}`, { maxAge: '365d', immutable: true, dotfiles: 'deny' });
    });

    // Every other GET: a console page (deep links, reloads), unless it belongs to the API or is a file.
    app.get('/*', { config: { access: { public: true } }, schema: HIDDEN }, async (request, reply) => {
      const path = request.url.split('?')[0] ?? '/';
      if (RESERVED.test(path) || FILE_LIKE.test(path)) return reply.callNotFound();
      return shell(reply);
    });
  };
}
