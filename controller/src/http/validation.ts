/**
 * Request validation: query strings and path params arrive as text, so they are
 * coerced to the schema's types; JSON bodies are not — `{"name": 0}` for a string
 * field is a client error, not something to paper over. A POST sent with no body at all (no
 * content type, e.g. `curl -X POST`) to a route whose body has no required field is read as `{}`:
 * every field of such a body is optional, so nothing is papered over.
 */
import { Ajv, type Options } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifyInstance } from 'fastify';
import { badRequest } from '../core/errors.js';

const COMMON: Options = { removeAdditional: false, useDefaults: true, allErrors: false, strict: false };

function build(coerceTypes: Options['coerceTypes']): Ajv {
  const ajv = new Ajv({ ...COMMON, coerceTypes });
  addFormats.default(ajv);
  return ajv;
}

/**
 * The two validators: bodies strict, the rest coerced. Ajv keeps what it compiled per schema
 * object, so apps built in one process with the same pair compile each route schema once (tests
 * build many apps: `AppDeps.validators`); a server builds one app, with its own.
 */
export interface Validators {
  strict: Ajv;
  coercing: Ajv;
}

export function newValidators(): Validators {
  return { strict: build(false), coercing: build('array') };
}

export function installValidation(app: FastifyInstance, { strict, coercing } = newValidators()): void {
  app.setValidatorCompiler(({ schema, httpPart }) =>
    (httpPart === 'body' ? strict : coercing).compile(schema),
  );
  // A callback hook (every request runs it; an async one costs a promise each time).
  app.addHook('preValidation', (request, _reply, done) => {
    if (request.body === undefined && request.headers['content-type'] === undefined) {
      const body = (
        request.routeOptions.schema as { body?: { type?: string; required?: unknown[] } } | undefined
      )?.body;
      if (body?.type === 'object' && (body.required ?? []).length === 0) request.body = {};
    }
    const at =
      nulAt(request.body, 'body') ??
      (request.url.includes('%00')
        ? (nulAt(request.query, 'query') ?? nulAt(request.params, 'params'))
        : null);
    if (at !== null)
      return done(
        badRequest(`${at} contains the NUL character (\\u0000), which no text here may hold: leave it out`),
      );
    done();
  });
}

/**
 * Where a parsed JSON value (a body, a query, params) holds a NUL character, in a string or a key;
 * null when nowhere. PostgreSQL cannot store one in text, so one is refused before any route sees
 * it, the same on every database. Raw bodies (octet-stream uploads) are Buffers: not text.
 */
export function nulAt(value: unknown, path: string): string | null {
  if (typeof value === 'string') return value.includes('\0') ? path : null;
  // Raw bodies (Buffers, streams) and dates are not text.
  if (value === null || typeof value !== 'object' || ArrayBuffer.isView(value) || value instanceof Date)
    return null;
  if (typeof (value as { pipe?: unknown }).pipe === 'function') return null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const at = nulAt(value[i], `${path}/${i}`);
      if (at !== null) return at;
    }
    return null;
  }
  for (const [key, item] of Object.entries(value)) {
    if (key.includes('\0')) return `${path} key ${JSON.stringify(key)}`;
    const at = nulAt(item, `${path}/${key}`);
    if (at !== null) return at;
  }
  return null;
}
