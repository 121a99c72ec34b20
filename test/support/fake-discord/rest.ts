/**
 * The fake REST API (v10) under `/api/v10`: the routes discord.js calls at login and
 * the ones the attendance bot uses. Each call is recorded; a route table (not an
 * if/else chain) maps method + path to a handler. Unknown routes answer 404 like
 * Discord does, so a missing route shows up as a DiscordAPIError in the test.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { APIApplicationCommand, RESTPutAPIApplicationCommandsJSONBody } from 'discord.js';
import {
  applicationPayload,
  type FakeGuild,
  type FakeUser,
  guildCreatePayload,
  memberPayload,
  messagePayload,
  registeredCommandsPayload,
  userPayload,
} from './payloads.js';

export const REST_PREFIX = '/api/v10';

export interface RestCall {
  method: string;
  /** Path below `/api/v10`, e.g. `/interactions/123/abc/callback`. */
  path: string;
  query: Record<string, string>;
  /** Parsed JSON body, or null when there was none. */
  body: unknown;
  /** Whether the request carried `Authorization: Bot <the fake's token>`. */
  authorized: boolean;
  status: number;
}

/** What the REST routes read and change in the fake's shared state. */
export interface RestWorld {
  token: string;
  botUser: FakeUser;
  applicationId: string;
  gatewayUrl: string;
  guilds: Map<string, FakeGuild>;
  /** Registered commands: key `global` or a guild id. */
  commands: Map<string, APIApplicationCommand[]>;
}

interface RouteRequest {
  params: string[];
  body: unknown;
  query: Record<string, string>;
}

interface RouteResponse {
  status: number;
  body?: unknown;
}

interface Route {
  method: string;
  pattern: RegExp;
  /** Interaction callbacks and webhooks are authorised by their token in the path, not the bot token. */
  auth: boolean;
  handle(world: RestWorld, request: RouteRequest): RouteResponse;
}

const ID = '(\\d+)';
const TOKEN = '([^/]+)';

function notFound(message: string, code: number): RouteResponse {
  return { status: 404, body: { message, code } };
}

function withMember(
  world: RestWorld,
  guildId: string | undefined,
  userId: string | undefined,
  then: (guild: FakeGuild, member: NonNullable<ReturnType<FakeGuild['members']['get']>>) => RouteResponse,
): RouteResponse {
  const guild = world.guilds.get(guildId ?? '');
  if (!guild) return notFound('Unknown Guild', 10004);
  const member = guild.members.get(userId ?? '');
  if (!member) return notFound('Unknown Member', 10007);
  return then(guild, member);
}

function putCommands(world: RestWorld, key: string, guildId: string | null, body: unknown): RouteResponse {
  const registered = registeredCommandsPayload(
    world.applicationId,
    guildId,
    body as RESTPutAPIApplicationCommandsJSONBody,
  );
  world.commands.set(key, registered);
  return { status: 200, body: registered };
}

const ROUTES: Route[] = [
  {
    method: 'GET',
    pattern: /^\/gateway\/bot$/,
    auth: true,
    handle: (world) => ({
      status: 200,
      body: {
        url: world.gatewayUrl,
        shards: 1,
        session_start_limit: { total: 1000, remaining: 999, reset_after: 86_400_000, max_concurrency: 1 },
      },
    }),
  },
  {
    method: 'GET',
    pattern: /^\/gateway$/,
    auth: false,
    handle: (world) => ({ status: 200, body: { url: world.gatewayUrl } }),
  },
  {
    method: 'GET',
    pattern: /^\/users\/@me$/,
    auth: true,
    handle: (world) => ({ status: 200, body: { ...userPayload(world.botUser), verified: true, flags: 0 } }),
  },
  {
    method: 'GET',
    pattern: /^\/applications\/@me$/,
    auth: true,
    handle: (world) => ({ status: 200, body: applicationPayload(world.applicationId, world.botUser) }),
  },
  {
    method: 'GET',
    pattern: new RegExp(`^/applications/${ID}/commands$`),
    auth: true,
    handle: (world) => ({ status: 200, body: world.commands.get('global') ?? [] }),
  },
  {
    method: 'PUT',
    pattern: new RegExp(`^/applications/${ID}/commands$`),
    auth: true,
    handle: (world, { body }) => putCommands(world, 'global', null, body),
  },
  {
    method: 'GET',
    pattern: new RegExp(`^/applications/${ID}/guilds/${ID}/commands$`),
    auth: true,
    handle: (world, { params }) => ({ status: 200, body: world.commands.get(params[1] ?? '') ?? [] }),
  },
  {
    method: 'PUT',
    pattern: new RegExp(`^/applications/${ID}/guilds/${ID}/commands$`),
    auth: true,
    handle: (world, { params, body }) => putCommands(world, params[1] ?? '', params[1] ?? null, body),
  },
  {
    // The guild as REST answers it (a follower replica's Manage Server check reads owner and roles).
    method: 'GET',
    pattern: new RegExp(`^/guilds/${ID}$`),
    auth: true,
    handle: (world, { params }) => {
      const guild = world.guilds.get(params[0] ?? '');
      if (!guild) return notFound('Unknown Guild', 10004);
      const { id, name, owner_id, roles } = guildCreatePayload(guild);
      return { status: 200, body: { id, name, owner_id, roles } };
    },
  },
  {
    method: 'GET',
    pattern: new RegExp(`^/guilds/${ID}/members/${ID}$`),
    auth: true,
    handle: (world, { params }) =>
      withMember(world, params[0], params[1], (guild, member) => ({
        status: 200,
        body: memberPayload(member, guild.voiceStates.get(member.id)),
      })),
  },
  {
    method: 'PUT',
    pattern: new RegExp(`^/guilds/${ID}/members/${ID}/roles/${ID}$`),
    auth: true,
    handle: (world, { params }) =>
      withMember(world, params[0], params[1], (_guild, member) => {
        const roleId = params[2] ?? '';
        if (!member.roles.includes(roleId)) member.roles.push(roleId);
        return { status: 204 };
      }),
  },
  {
    method: 'DELETE',
    pattern: new RegExp(`^/guilds/${ID}/members/${ID}/roles/${ID}$`),
    auth: true,
    handle: (world, { params }) =>
      withMember(world, params[0], params[1], (_guild, member) => {
        member.roles = member.roles.filter((role) => role !== params[2]);
        return { status: 204 };
      }),
  },
  {
    method: 'POST',
    pattern: new RegExp(`^/channels/${ID}/messages$`),
    auth: true,
    handle: (world, { params, body }) => {
      const channelId = params[0] ?? '';
      const known = [...world.guilds.values()].some((guild) =>
        guild.channels.some((c) => c.id === channelId),
      );
      if (!known) return notFound('Unknown Channel', 10003);
      return { status: 200, body: messagePayload(channelId, world.botUser, asRecord(body)) };
    },
  },
  {
    method: 'POST',
    pattern: new RegExp(`^/interactions/${ID}/${TOKEN}/callback$`),
    auth: false,
    // with_response=false (discord.js's default) gets 204, as on Discord.
    handle: (_world, { query }) =>
      query.with_response === 'true'
        ? { status: 200, body: { interaction: {}, resource: null } }
        : { status: 204 },
  },
  {
    method: 'PATCH',
    pattern: new RegExp(`^/webhooks/${ID}/${TOKEN}/messages/(@original|\\d+)$`),
    auth: false,
    handle: (world, { body }) => ({ status: 200, body: messagePayload('0', world.botUser, asRecord(body)) }),
  },
  {
    method: 'POST',
    pattern: new RegExp(`^/webhooks/${ID}/${TOKEN}$`),
    auth: false,
    handle: (world, { body }) => ({ status: 200, body: messagePayload('0', world.botUser, asRecord(body)) }),
  },
];

function asRecord(body: unknown): Record<string, unknown> {
  return typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
}

function findRoute(method: string, path: string): { route: Route; params: string[] } | undefined {
  for (const route of ROUTES) {
    if (route.method !== method) continue;
    const match = route.pattern.exec(path);
    if (match) return { route, params: match.slice(1) };
  }
  return undefined;
}

async function readBody(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  if (chunks.length === 0) return null;
  const text = Buffer.concat(chunks).toString('utf8');
  if (!(request.headers['content-type'] ?? '').includes('application/json')) return text;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** Serves one REST request and returns what was recorded for it. */
export async function serveRest(
  world: RestWorld,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<RestCall> {
  const url = new URL(request.url ?? '/', 'http://fake.discord');
  const method = request.method ?? 'GET';
  const path = url.pathname.startsWith(REST_PREFIX) ? url.pathname.slice(REST_PREFIX.length) : url.pathname;
  const query = Object.fromEntries(url.searchParams);
  const body = await readBody(request);
  const authorized = request.headers.authorization === `Bot ${world.token}`;

  const found = findRoute(method, path);
  let result: RouteResponse;
  if (!url.pathname.startsWith(REST_PREFIX) || !found) result = notFound('404: Not Found', 0);
  else if (found.route.auth && !authorized)
    result = { status: 401, body: { message: '401: Unauthorized', code: 0 } };
  else result = found.route.handle(world, { params: found.params, body, query });

  if (result.body === undefined) {
    response.writeHead(result.status).end();
  } else {
    const json = JSON.stringify(result.body);
    response
      .writeHead(result.status, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(json),
      })
      .end(json);
  }
  return { method, path, query, body, authorized, status: result.status };
}
