import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, DEFAULTS, describeConfig, loadConfig } from '../../controller/src/config.js';

describe('loadConfig', () => {
  it('runs with nothing configured', () => {
    const config = loadConfig({});
    expect(config.httpPort).toBe(8080);
    expect(config.mqttPort).toBe(1883);
    expect(config.databaseUrl).toBeUndefined();
    expect(config.scryptLogN).toBe(DEFAULTS.scryptLogN);
  });

  it('reads the documented environment names', () => {
    const config = loadConfig({
      EARSHOT_HTTP_PORT: '9000',
      EARSHOT_MQTT_PORT: '1884',
      EARSHOT_DATA_DIR: '/tmp/x',
      DATABASE_URL: 'postgres://u:p@h/db',
    });
    expect(config).toMatchObject({
      httpPort: 9000,
      mqttPort: 1884,
      dataDir: '/tmp/x',
      databaseUrl: 'postgres://u:p@h/db',
    });
  });

  it('lists every problem with the variable name', () => {
    try {
      loadConfig({
        EARSHOT_HTTP_PORT: 'eighty',
        EARSHOT_MQTT_PORT: '70000',
        EARSHOT_COOKIE_SECURE: 'maybe',
        DATABASE_URL: 'mysql://x',
      });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const message = (error as Error).message;
      expect(message).toContain('EARSHOT_HTTP_PORT="eighty": expected a whole number');
      expect(message).toContain('EARSHOT_COOKIE_SECURE');
      expect(message).toContain('EARSHOT_MQTT_PORT');
      expect(message).toContain('DATABASE_URL');
    }
  });

  it('names an unknown setting in the config file, and the choices of an enum, never echoing a secret', () => {
    const dir = mkdtempSync(join(tmpdir(), 'earshot-config-'));
    const file = join(dir, 'config.json');
    writeFileSync(file, JSON.stringify({ httpPrt: 1, logLevel: 'loud' }));
    try {
      const problems = (() => {
        try {
          loadConfig({ EARSHOT_CONFIG_FILE: file, DATABASE_URL: 'mysql://earshot:s3cret-pw@db/earshot' });
        } catch (error) {
          return (error as ConfigError).problems;
        }
        throw new Error('loadConfig accepted it');
      })();
      expect(problems).toContain(
        `EARSHOT_CONFIG_FILE ${file}: unknown setting "httpPrt" (settings are named as in the README's configuration table, e.g. "httpPort")`,
      );
      expect(problems.join('\n')).toMatch(
        /logLevel="loud" in EARSHOT_CONFIG_FILE: .*\(allowed: "fatal", .*"silent"\)/,
      );
      expect(problems.join('\n')).not.toMatch(/schema is false/);
      expect(problems.join('\n')).toContain('DATABASE_URL');
      expect(problems.join('\n')).not.toContain('s3cret-pw');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(() => loadConfig({ EARSHOT_LOG_LEVEL: 'loud' })).toThrow(
      /EARSHOT_LOG_LEVEL="loud": must be equal to one of the allowed values \(allowed: "fatal"/,
    );
  });

  it('the upload-queue copy lease: 2 minutes by default, 10 s to an hour', () => {
    expect(loadConfig({}).uploadCopyLeaseSeconds).toBe(120);
    expect(loadConfig({ EARSHOT_UPLOAD_COPY_LEASE_SECONDS: '30' }).uploadCopyLeaseSeconds).toBe(30);
    for (const raw of ['5', '3601'])
      expect(() => loadConfig({ EARSHOT_UPLOAD_COPY_LEASE_SECONDS: raw })).toThrow(
        /EARSHOT_UPLOAD_COPY_LEASE_SECONDS/,
      );
  });

  it('never shows the database password', () => {
    const described = describeConfig(
      loadConfig({ DATABASE_URL: 'postgres://earshot:s3cret@db:5432/earshot' }),
    );
    expect(JSON.stringify(described)).not.toContain('s3cret');
    expect(described.databaseUrl).toBe('postgres://earshot:***@db:5432/earshot');
  });

  it('takes a Redis URL for clustered brokers, never shows its password, refuses another scheme', () => {
    expect(loadConfig({}).redisUrl).toBeUndefined();
    const described = describeConfig(loadConfig({ EARSHOT_REDIS_URL: 'redis://:r3dis-pw@cache:6379/2' }));
    expect(JSON.stringify(described)).not.toContain('r3dis-pw');
    expect(described.redisUrl).toBe('redis://:***@cache:6379/2');
    expect(loadConfig({ EARSHOT_REDIS_URL: 'rediss://cache:6380' }).redisUrl).toBe('rediss://cache:6380');
    expect(() => loadConfig({ EARSHOT_REDIS_URL: 'http://cache:6379' })).toThrow(/EARSHOT_REDIS_URL/);
  });
});

describe('OIDC settings', () => {
  const oidc = {
    EARSHOT_OIDC_ISSUER_URL: 'https://idp.example.com/realms/earshot',
    EARSHOT_OIDC_CLIENT_ID: 'earshot',
    EARSHOT_OIDC_CLIENT_SECRET: 'oidc-s3cret-value',
    EARSHOT_OIDC_REDIRECT_URL: 'https://earshot.example.com/api/v1/auth/oidc/callback',
  };

  it('is off by default and on when the issuer and client id are set', () => {
    expect(describeConfig(loadConfig({})).oidcEnabled).toBe(false);
    const config = loadConfig({ ...oidc, EARSHOT_OIDC_GROUPS_CLAIM: 'roles' });
    expect(config).toMatchObject({
      oidcClientId: 'earshot',
      oidcGroupsClaim: 'roles',
      oidcScopes: 'openid email profile',
    });
    expect(describeConfig(config).oidcEnabled).toBe(true);
  });

  it('never shows the client secret', () => {
    const described = describeConfig(loadConfig(oidc));
    expect(JSON.stringify(described)).not.toContain('oidc-s3cret-value');
    expect(described.oidcClientSecret).toBe('***');
  });

  it('refuses half a configuration, a missing redirect URL, scopes without openid and plain http', () => {
    const problems = (env: Record<string, string>) => {
      try {
        loadConfig(env);
        return '';
      } catch (error) {
        return (error as Error).message;
      }
    };
    expect(problems({ EARSHOT_OIDC_ISSUER_URL: oidc.EARSHOT_OIDC_ISSUER_URL })).toContain('set both');
    expect(problems({ ...oidc, EARSHOT_OIDC_REDIRECT_URL: '' })).toContain(
      'EARSHOT_OIDC_REDIRECT_URL: required',
    );
    expect(problems({ ...oidc, EARSHOT_OIDC_SCOPES: 'email profile' })).toContain('EARSHOT_OIDC_SCOPES');
    expect(problems({ ...oidc, EARSHOT_OIDC_ISSUER_URL: 'http://idp.example.com' })).toContain(
      'must be https',
    );
    // Loopback http is for tests and local development only, never in production.
    const loopback = { ...oidc, EARSHOT_OIDC_ISSUER_URL: 'http://127.0.0.1:9999' };
    expect(problems(loopback)).toBe('');
    expect(problems({ ...loopback, EARSHOT_PRODUCTION: 'true' })).toContain('must be https');
  });
});

describe('front-end token secret', () => {
  const secret = 'bff-shared-secret-0123456789-abcdef';
  const problems = (env: Record<string, string>) => {
    try {
      loadConfig(env);
      return '';
    } catch (error) {
      return (error as Error).message;
    }
  };

  it('is unset by default and read from EARSHOT_FRONTEND_TOKEN_SECRET', () => {
    expect(loadConfig({}).frontendTokenSecret).toBeUndefined();
    expect(loadConfig({ EARSHOT_FRONTEND_TOKEN_SECRET: secret }).frontendTokenSecret).toBe(secret);
  });

  it('needs at least 32 bytes, and says so without printing the secret', () => {
    const message = problems({ EARSHOT_FRONTEND_TOKEN_SECRET: 'short-s3cret' });
    expect(message).toContain('EARSHOT_FRONTEND_TOKEN_SECRET: must be at least 32 bytes (got 12)');
    expect(message).not.toContain('short-s3cret');
    // Bytes, not characters: 16 two-byte characters are enough.
    expect(problems({ EARSHOT_FRONTEND_TOKEN_SECRET: 'é'.repeat(16) })).toBe('');
    expect(problems({ EARSHOT_FRONTEND_TOKEN_SECRET: 'é'.repeat(15) })).toContain('(got 30)');
  });

  it('is never shown', () => {
    const described = describeConfig(loadConfig({ EARSHOT_FRONTEND_TOKEN_SECRET: secret }));
    expect(JSON.stringify(described)).not.toContain(secret);
    expect(described.frontendTokenSecret).toBe('***');
  });
});

describe('secret key (EARSHOT_SECRET_KEY)', () => {
  const key = Buffer.alloc(32, 7).toString('base64');
  const problems = (env: Record<string, string>) => {
    try {
      loadConfig(env);
      return '';
    } catch (error) {
      return (error as Error).message;
    }
  };

  it('is unset by default (a key file in the data dir is used) and read from the environment', () => {
    expect(loadConfig({}).secretKey).toBeUndefined();
    expect(loadConfig({ EARSHOT_SECRET_KEY: key }).secretKey).toBe(key);
  });

  it('must be base64 of 32 bytes, and the message never prints it', () => {
    const short = Buffer.alloc(16, 9).toString('base64');
    const message = problems({ EARSHOT_SECRET_KEY: short });
    expect(message).toContain('EARSHOT_SECRET_KEY: must be base64 of exactly 32 bytes');
    expect(message).not.toContain(short);
    expect(problems({ EARSHOT_SECRET_KEY: 'not base64 at all!' })).toContain('EARSHOT_SECRET_KEY');
  });

  it('is never shown', () => {
    const described = describeConfig(loadConfig({ EARSHOT_SECRET_KEY: key }));
    expect(JSON.stringify(described)).not.toContain(key);
    expect(described.secretKey).toBe('***');
  });
});

describe('outbound webhooks to private networks', () => {
  it('are refused unless EARSHOT_WEBHOOK_ALLOW_PRIVATE_NETWORKS is true', () => {
    expect(loadConfig({}).webhookAllowPrivateNetworks).toBeFalsy();
    expect(loadConfig({ EARSHOT_WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' }).webhookAllowPrivateNetworks).toBe(
      true,
    );
    expect(() => loadConfig({ EARSHOT_WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'maybe' })).toThrow(
      /EARSHOT_WEBHOOK_ALLOW_PRIVATE_NETWORKS/,
    );
  });
});
