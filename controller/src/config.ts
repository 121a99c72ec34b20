/**
 * Controller configuration: environment first, then an optional JSON file named by
 * EARSHOT_CONFIG_FILE, then defaults. Validated once at start; the result is passed
 * in to whatever needs it (no globals). `describeConfig` never prints a secret.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import Type, { type Static } from 'typebox';
import { Compile } from 'typebox/compile';
import { parseSecretKey, SECRET_KEY_BYTES } from './crypto/secret-box.js';

const Port = Type.Integer({ minimum: 0, maximum: 65535 });

export const ConfigSchema = Type.Object(
  {
    httpPort: Port,
    httpHost: Type.String({ minLength: 1 }),
    mqttPort: Port,
    mqttHost: Type.String({ minLength: 1 }),
    /** MQTT over WebSocket is served by the HTTP server at this path. */
    mqttWsPath: Type.String({ pattern: '^/' }),
    dataDir: Type.String({ minLength: 1 }),
    /** Unset: SQLite file in the data dir. `postgres://…`: PostgreSQL. */
    databaseUrl: Type.Optional(Type.String({ pattern: '^(postgres(ql)?://|file:)' })),
    logLevel: Type.Enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    /**
     * `Secure` flag on the session and OIDC state cookies. Off by default (false), so plain
     * HTTP works out of the box; set EARSHOT_COOKIE_SECURE=true behind HTTPS. Production
     * mode does not change it.
     */
    cookieSecure: Type.Boolean(),
    sessionIdleMinutes: Type.Integer({ minimum: 1, maximum: 7 * 24 * 60 }),
    sessionAbsoluteHours: Type.Integer({ minimum: 1, maximum: 90 * 24 }),
    /** scrypt cost N (log2). OWASP minimum is 17; tests may lower it. */
    scryptLogN: Type.Integer({ minimum: 10, maximum: 22 }),
    metricsAllowAnonymous: Type.Boolean(),
    /** Live events (GET /api/v1/events) are kept this many hours for clients that resume… */
    liveEventsRetentionHours: Type.Integer({ minimum: 1, maximum: 30 * 24 }),
    /** …and at most this many (the oldest go first). */
    liveEventsMaxKept: Type.Integer({ minimum: 100, maximum: 100_000_000 }),
    maxBodyBytes: Type.Integer({ minimum: 1024 }),
    leaseSeconds: Type.Integer({ minimum: 5, maximum: 3600 }),
    /**
     * How long an upload-queue copy holds its item without progress (renewed as each part is
     * stored) before another runner, or this controller after a restart, takes it over and
     * resumes it from its stored parts. Keep it above the time one 16 MiB part takes to send.
     */
    uploadCopyLeaseSeconds: Type.Integer({ minimum: 10, maximum: 3600 }),
    /** Days of health history (GET /api/v1/health/history, one sample a minute) kept before pruning. */
    healthHistoryDays: Type.Integer({ minimum: 1, maximum: 366 }),
    /** Days of the operational event log (GET /api/v1/ops-events) kept before pruning. */
    opsEventsDays: Type.Integer({ minimum: 1, maximum: 3660 }),
    enrollmentTtlMinutes: Type.Integer({ minimum: 1, maximum: 7 * 24 * 60 }),
    loginFailuresPerAccountPerHour: Type.Integer({ minimum: 1 }),
    loginFailuresPerAddressPerHour: Type.Integer({ minimum: 1 }),
    production: Type.Boolean(),
    /** OIDC sign-in is enabled when both the issuer URL and the client id are set. */
    oidcIssuerUrl: Type.Optional(Type.String({ pattern: '^https?://' })),
    oidcClientId: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
    /** Never logged (describeConfig masks it). Unset: a public client (PKCE only). */
    oidcClientSecret: Type.Optional(Type.String({ minLength: 1 })),
    /** Absolute URL of GET /api/v1/auth/oidc/callback as the browser reaches it. */
    oidcRedirectUrl: Type.Optional(Type.String({ pattern: '^https?://' })),
    oidcScopes: Type.String({ pattern: '(^|\\s)openid(\\s|$)' }),
    oidcGroupsClaim: Type.String({ minLength: 1, maxLength: 128 }),
    oidcButtonLabel: Type.String({ minLength: 1, maxLength: 64 }),
    /** Shared secret of the inbound attendance webhook; unset = the webhook answers 503. Never logged. */
    attendanceWebhookSecret: Type.Optional(Type.String({ minLength: 16, maxLength: 512 })),
    /** The Discord bot's token; the attendance bot runs only when it is set. Never logged. */
    discordBotToken: Type.Optional(Type.String({ minLength: 10, maxLength: 512 })),
    /** Discord REST base (tests point it at a local fake); Discord's own when unset. */
    discordApiBase: Type.Optional(Type.String({ pattern: '^https?://' })),
    /**
     * HS256 secret shared with a web front end (BFF) that mints 60-second tokens for
     * Discord users (README, "Discord attendance"); at least 32 bytes. Unset: such tokens are never
     * accepted. Never logged.
     */
    frontendTokenSecret: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
    /**
     * Seals secrets the controller must read back (outbound webhook signing secrets):
     * base64 of 32 random bytes (`openssl rand -base64 32`). Unset: a key file is
     * generated once in the data dir (secret.key, mode 0600). Set it on every replica
     * sharing one PostgreSQL. Never logged.
     */
    secretKey: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
    /**
     * Let outbound webhooks reach loopback, private and link-local addresses (a receiver
     * on the LAN; tests). Off: only public addresses, so a guild manager cannot probe the
     * controller's own network through the delivery log.
     */
    webhookAllowPrivateNetworks: Type.Optional(Type.Boolean()),
    /**
     * Redis shared by controller replicas (`redis://[:password@]host:port[/db]`, or `rediss://`):
     * the embedded MQTT brokers are clustered through it, so an agent connected to any replica is
     * present, metered and commanded on all. Unset: one controller, its broker in memory.
     * The password is never logged.
     */
    redisUrl: Type.Optional(Type.String({ pattern: '^rediss?://' })),
    /**
     * The load balancers or reverse proxies in front, whose `X-Forwarded-For` names the caller
     * (comma-separated addresses or CIDR ranges, e.g. `10.0.0.0/8`): login throttles, rate
     * limits and the audit log then see the caller's address, not the proxy's. Unset: no
     * header is trusted (a caller could name any address).
     */
    trustedProxies: Type.Optional(Type.String({ pattern: '^[0-9a-fA-F:.,/ ]+$', minLength: 1 })),
  },
  { additionalProperties: false },
);
export type Config = Static<typeof ConfigSchema>;

export const DEFAULTS: Config = {
  httpPort: 8080,
  httpHost: '0.0.0.0',
  mqttPort: 1883,
  mqttHost: '0.0.0.0',
  mqttWsPath: '/mqtt',
  dataDir: './data',
  logLevel: 'info',
  cookieSecure: false,
  sessionIdleMinutes: 30,
  sessionAbsoluteHours: 12,
  scryptLogN: 17,
  metricsAllowAnonymous: false,
  maxBodyBytes: 1024 * 1024,
  leaseSeconds: 30,
  liveEventsRetentionHours: 24,
  liveEventsMaxKept: 1_000_000,
  uploadCopyLeaseSeconds: 120,
  healthHistoryDays: 7,
  opsEventsDays: 90,
  enrollmentTtlMinutes: 24 * 60,
  loginFailuresPerAccountPerHour: 100,
  loginFailuresPerAddressPerHour: 300,
  production: false,
  oidcScopes: 'openid email profile',
  oidcGroupsClaim: 'groups',
  oidcButtonLabel: 'Sign in with SSO',
};

/** Environment variable → config key, with how to parse it. */
const ENV: Record<string, [keyof Config, 'int' | 'bool' | 'string']> = {
  EARSHOT_HTTP_PORT: ['httpPort', 'int'],
  EARSHOT_HTTP_HOST: ['httpHost', 'string'],
  EARSHOT_MQTT_PORT: ['mqttPort', 'int'],
  EARSHOT_MQTT_HOST: ['mqttHost', 'string'],
  EARSHOT_MQTT_WS_PATH: ['mqttWsPath', 'string'],
  EARSHOT_DATA_DIR: ['dataDir', 'string'],
  DATABASE_URL: ['databaseUrl', 'string'],
  EARSHOT_LOG_LEVEL: ['logLevel', 'string'],
  EARSHOT_COOKIE_SECURE: ['cookieSecure', 'bool'],
  EARSHOT_SESSION_IDLE_MINUTES: ['sessionIdleMinutes', 'int'],
  EARSHOT_SESSION_ABSOLUTE_HOURS: ['sessionAbsoluteHours', 'int'],
  EARSHOT_METRICS_ALLOW_ANONYMOUS: ['metricsAllowAnonymous', 'bool'],
  EARSHOT_LIVE_EVENTS_RETENTION_HOURS: ['liveEventsRetentionHours', 'int'],
  EARSHOT_LIVE_EVENTS_MAX_KEPT: ['liveEventsMaxKept', 'int'],
  EARSHOT_MAX_BODY_BYTES: ['maxBodyBytes', 'int'],
  EARSHOT_LEASE_SECONDS: ['leaseSeconds', 'int'],
  EARSHOT_UPLOAD_COPY_LEASE_SECONDS: ['uploadCopyLeaseSeconds', 'int'],
  EARSHOT_HEALTH_HISTORY_DAYS: ['healthHistoryDays', 'int'],
  EARSHOT_OPS_EVENTS_DAYS: ['opsEventsDays', 'int'],
  EARSHOT_PRODUCTION: ['production', 'bool'],
  EARSHOT_OIDC_ISSUER_URL: ['oidcIssuerUrl', 'string'],
  EARSHOT_OIDC_CLIENT_ID: ['oidcClientId', 'string'],
  EARSHOT_OIDC_CLIENT_SECRET: ['oidcClientSecret', 'string'],
  EARSHOT_OIDC_REDIRECT_URL: ['oidcRedirectUrl', 'string'],
  EARSHOT_OIDC_SCOPES: ['oidcScopes', 'string'],
  EARSHOT_OIDC_GROUPS_CLAIM: ['oidcGroupsClaim', 'string'],
  EARSHOT_OIDC_BUTTON_LABEL: ['oidcButtonLabel', 'string'],
  EARSHOT_ATTENDANCE_WEBHOOK_SECRET: ['attendanceWebhookSecret', 'string'],
  EARSHOT_DISCORD_BOT_TOKEN: ['discordBotToken', 'string'],
  EARSHOT_DISCORD_API_BASE: ['discordApiBase', 'string'],
  EARSHOT_FRONTEND_TOKEN_SECRET: ['frontendTokenSecret', 'string'],
  EARSHOT_SECRET_KEY: ['secretKey', 'string'],
  EARSHOT_WEBHOOK_ALLOW_PRIVATE_NETWORKS: ['webhookAllowPrivateNetworks', 'bool'],
  EARSHOT_REDIS_URL: ['redisUrl', 'string'],
  EARSHOT_TRUSTED_PROXIES: ['trustedProxies', 'string'],
};

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

function parseEnvValue(
  name: string,
  raw: string,
  kind: 'int' | 'bool' | 'string',
  problems: string[],
): unknown {
  if (kind === 'string') return raw;
  if (kind === 'bool') {
    if (/^(1|true|yes|on)$/i.test(raw)) return true;
    if (/^(0|false|no|off)$/i.test(raw)) return false;
    problems.push(`${name}=${JSON.stringify(raw)}: expected true or false (or yes/no, on/off, 1/0)`);
    return undefined;
  }
  if (!/^-?\d+$/.test(raw)) {
    problems.push(`${name}=${JSON.stringify(raw)}: expected a whole number`);
    return undefined;
  }
  return Number(raw);
}

const validator = Compile(ConfigSchema);

/** One schema error as a line that names the setting, what it got and what it takes. */
function describeConfigError(
  error: { keyword: string; message: string; params: Record<string, unknown> },
  key: string,
  envName: string | undefined,
  merged: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
): string {
  const file = env.EARSHOT_CONFIG_FILE;
  if (error.keyword === 'additionalProperties') {
    const unknown = (error.params.additionalProperties as string[] | undefined) ?? [];
    return (
      `${file ? `EARSHOT_CONFIG_FILE ${file}` : 'configuration'}: unknown setting ${unknown.map((k) => `"${k}"`).join(', ')} ` +
      '(settings are named as in the README\'s configuration table, e.g. "httpPort")'
    );
  }
  // Only a choice is echoed back: another value may be a secret (a token, a URL with a password).
  if (!Array.isArray(error.params.allowedValues)) return `${envName ?? key}: ${error.message}`;
  const allowed = (error.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ');
  const fromFile = file !== undefined && !(envName !== undefined && envName in env);
  const setting = `${fromFile ? key : (envName ?? key)}=${JSON.stringify(merged[key])}`;
  return `${setting}${fromFile ? ' in EARSHOT_CONFIG_FILE' : ''}: ${error.message} (allowed: ${allowed})`;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<Config> = {}): Config {
  const problems: string[] = [];
  let fromFile: Record<string, unknown> = {};
  if (env.EARSHOT_CONFIG_FILE) {
    try {
      fromFile = JSON.parse(readFileSync(env.EARSHOT_CONFIG_FILE, 'utf8')) as Record<string, unknown>;
    } catch (error) {
      problems.push(`EARSHOT_CONFIG_FILE ${env.EARSHOT_CONFIG_FILE}: ${(error as Error).message}`);
    }
  }
  const fromEnv: Record<string, unknown> = {};
  for (const [name, [key, kind]] of Object.entries(ENV)) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    const value = parseEnvValue(name, raw, kind, problems);
    if (value !== undefined) fromEnv[key] = value;
  }
  const merged = { ...DEFAULTS, ...fromFile, ...fromEnv, ...overrides };
  if (!validator.Check(merged)) {
    for (const error of validator.Errors(merged)) {
      const key = error.instancePath.replace(/^\//, '') || '(root)';
      const envName = Object.entries(ENV).find(([, [k]]) => k === key)?.[0];
      // The unknown key itself ("schema is false") is named by the root's additionalProperties error.
      if (error.keyword === 'boolean' && error.message === 'schema is false') continue;
      problems.push(describeConfigError(error, key, envName, merged, env));
    }
  }
  if (problems.length === 0)
    problems.push(...oidcProblems(merged as Config), ...secretProblems(merged as Config));
  if (problems.length > 0) throw new ConfigError(problems);
  const config = merged as Config;
  return { ...config, dataDir: resolve(config.dataDir) };
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** Plain-HTTP issuers are for tests and local development: loopback only, never in production. */
export function isLoopbackHttp(url: string): boolean {
  const parsed = new URL(url);
  return parsed.protocol === 'http:' && LOOPBACK_HOSTS.has(parsed.hostname);
}

/** OIDC sign-in is on when both the issuer and the client id are configured. */
export function oidcEnabled(config: Pick<Config, 'oidcIssuerUrl' | 'oidcClientId'>): boolean {
  return Boolean(config.oidcIssuerUrl && config.oidcClientId);
}

function oidcProblems(config: Config): string[] {
  const problems: string[] = [];
  if (Boolean(config.oidcIssuerUrl) !== Boolean(config.oidcClientId)) {
    problems.push('EARSHOT_OIDC_ISSUER_URL and EARSHOT_OIDC_CLIENT_ID: set both to enable OIDC, or neither');
  }
  if (!oidcEnabled(config)) return problems;
  for (const [envName, url] of [
    ['EARSHOT_OIDC_ISSUER_URL', config.oidcIssuerUrl],
    ['EARSHOT_OIDC_REDIRECT_URL', config.oidcRedirectUrl],
  ] as const) {
    if (!url) {
      problems.push(`${envName}: required when OIDC is enabled`);
      continue;
    }
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      problems.push(`${envName}: not a valid URL`);
      continue;
    }
    if (parsed.protocol === 'http:' && (config.production || !isLoopbackHttp(url))) {
      problems.push(`${envName}: must be https (plain http only for 127.0.0.1/localhost outside production)`);
    }
  }
  return problems;
}

/** An HS256 key shorter than the hash output is guessable offline from one token (RFC 7518 §3.2). */
export const FRONTEND_TOKEN_SECRET_MIN_BYTES = 32;

function secretProblems(config: Config): string[] {
  return [...frontendSecretProblems(config), ...secretKeyProblems(config)];
}

function secretKeyProblems(config: Config): string[] {
  if (config.secretKey === undefined || parseSecretKey(config.secretKey)) return [];
  // Never the value: it is a secret even when malformed.
  return [
    `EARSHOT_SECRET_KEY: must be base64 of exactly ${SECRET_KEY_BYTES} bytes; generate one with \`openssl rand -base64 32\``,
  ];
}

function frontendSecretProblems(config: Config): string[] {
  const secret = config.frontendTokenSecret;
  if (secret === undefined) return [];
  const bytes = Buffer.byteLength(secret, 'utf8');
  if (bytes >= FRONTEND_TOKEN_SECRET_MIN_BYTES) return [];
  // The length only: the value is a secret even when it is too short.
  return [
    `EARSHOT_FRONTEND_TOKEN_SECRET: must be at least ${FRONTEND_TOKEN_SECRET_MIN_BYTES} bytes (got ${bytes}); generate one with \`openssl rand -base64 48\``,
  ];
}

/** A loggable view of the config: the database URL loses its password, secrets are masked. */
export function describeConfig(config: Config): Record<string, unknown> {
  return {
    ...config,
    oidcEnabled: oidcEnabled(config),
    oidcClientSecret: config.oidcClientSecret ? '***' : undefined,
    attendanceWebhookSecret: config.attendanceWebhookSecret ? '***' : undefined,
    discordBotToken: config.discordBotToken ? '***' : undefined,
    frontendTokenSecret: config.frontendTokenSecret ? '***' : undefined,
    secretKey: config.secretKey ? '***' : undefined,
    databaseUrl: config.databaseUrl
      ? config.databaseUrl.replace(/\/\/([^:/@]*):[^@]*@/, '//$1:***@')
      : 'sqlite (data dir)',
    redisUrl: config.redisUrl?.replace(/\/\/([^:/@]*):[^@]*@/, '//$1:***@'),
  };
}
