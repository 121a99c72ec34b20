/** The agent's logger: pino JSON lines on stdout (systemd's journal keeps them). */
import { type BaseLogger, pino } from 'pino';

export type Logger = Pick<BaseLogger, 'debug' | 'info' | 'warn' | 'error'>;

export function createLogger(level: string): Logger {
  return pino({
    name: 'earshot-agent',
    level,
    // Belt and braces: nothing should ever log these, and if it does they are masked.
    redact: {
      paths: ['credential', '*.credential', 'password', '*.password', 'authorization'],
      censor: '[redacted]',
    },
  });
}

export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
