/**
 * The agent's last log lines, kept in memory for collect-diagnostics: a logger that writes
 * through to the real one and keeps a bounded copy of each line, secrets removed (the logger
 * already redacts named fields; the copy also masks anything shaped like a secret, since a
 * message may quote one).
 */
import type { Logger } from './log.js';

/** Lines kept. */
export const LOG_RING_LINES = 200;
const MAX_LINE_CHARS = 2000;
/** The 256-bit base64url secrets credentials and tokens carry (43 chars), and bearer values. */
export function scrubSecrets(text: string): string {
  return text.replace(/[A-Za-z0-9_-]{40,}/g, '[redacted]').replace(/(bearer\s+)[^\s"]+/gi, '$1[redacted]');
}

const REDACTED_FIELDS = new Set(['credential', 'password', 'authorization', 'token']);

export class LogRing {
  private readonly lines: string[] = [];

  constructor(private readonly capacity = LOG_RING_LINES) {}

  /** Oldest first. */
  get recent(): string[] {
    return [...this.lines];
  }

  /** `log`, with every line also kept here. */
  tee(log: Logger): Logger {
    const level =
      (name: 'debug' | 'info' | 'warn' | 'error') =>
      (objOrMsg: unknown, msg?: string, ...rest: unknown[]) => {
        if (name !== 'debug') this.keep(name, objOrMsg, msg);
        (log[name] as (...args: unknown[]) => void)(objOrMsg, msg, ...rest);
      };
    return {
      debug: level('debug'),
      info: level('info'),
      warn: level('warn'),
      error: level('error'),
    } as Logger;
  }

  private keep(level: string, objOrMsg: unknown, msg: string | undefined): void {
    const fields =
      typeof objOrMsg === 'object' && objOrMsg !== null
        ? Object.fromEntries(
            Object.entries(objOrMsg).map(([key, value]) => [
              key,
              REDACTED_FIELDS.has(key.toLowerCase())
                ? '[redacted]'
                : value instanceof Error
                  ? value.message
                  : value,
            ]),
          )
        : {};
    const message = typeof objOrMsg === 'string' ? objOrMsg : (msg ?? '');
    let line: string;
    try {
      line = JSON.stringify({ time: new Date().toISOString(), level, msg: message, ...fields });
    } catch {
      line = JSON.stringify({ time: new Date().toISOString(), level, msg: message });
    }
    this.lines.push(scrubSecrets(line).slice(0, MAX_LINE_CHARS));
    if (this.lines.length > this.capacity) this.lines.shift();
  }
}
