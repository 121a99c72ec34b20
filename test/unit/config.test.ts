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

  it('never shows the database password', () => {
    const described = describeConfig(
      loadConfig({ DATABASE_URL: 'postgres://earshot:s3cret@db:5432/earshot' }),
    );
    expect(JSON.stringify(described)).not.toContain('s3cret');
    expect(described.databaseUrl).toBe('postgres://earshot:***@db:5432/earshot');
  });
});
