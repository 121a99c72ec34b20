/**
 * The one lifecycle runner: components start in the order they were added and stop in
 * reverse, each once. A stop that fails is logged and the others still stop; a start that
 * fails stops what already started, then rethrows.
 */
import type { Logger } from '../core/logger.js';
import type { Component } from './module.js';

export class Lifecycle {
  private readonly components: Component[] = [];
  private starting?: Promise<void>;
  private stopping?: Promise<void>;

  constructor(private readonly log: Pick<Logger, 'error'>) {}

  add(...components: Component[]): void {
    if (this.starting || this.stopping) throw new Error('components are added before start');
    this.components.push(...components);
  }

  /** The components in start order (stop order is the reverse). */
  names(): string[] {
    return this.components.map((c) => c.name);
  }

  start(): Promise<void> {
    this.starting ??= (async () => {
      for (const component of this.components) {
        if (this.stopping) return;
        await component.start?.();
      }
    })();
    return this.starting;
  }

  /** Stops every component in reverse order, once, whether or not `start` ran. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await this.starting?.catch(() => undefined);
      for (const component of [...this.components].reverse()) {
        try {
          await component.stop?.();
        } catch (err) {
          this.log.error({ err, component: component.name }, 'stop failed');
        }
      }
    })();
    return this.stopping;
  }
}
