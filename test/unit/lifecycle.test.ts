import { describe, expect, it } from 'vitest';
import { Lifecycle } from '../../controller/src/platform/lifecycle.js';
import type { Component } from '../../controller/src/platform/module.js';

function recorder() {
  const calls: string[] = [];
  const component = (name: string, extra: Partial<Component> = {}): Component => ({
    name,
    start: async () => {
      calls.push(`start ${name}`);
    },
    stop: async () => {
      calls.push(`stop ${name}`);
    },
    ...extra,
  });
  return { calls, component };
}

describe('Lifecycle', () => {
  it('starts in order and stops in reverse, each once', async () => {
    const { calls, component } = recorder();
    const lifecycle = new Lifecycle({ error: () => {} });
    lifecycle.add(component('a'), component('b'), component('c'));
    await Promise.all([lifecycle.start(), lifecycle.start()]);
    await Promise.all([lifecycle.stop(), lifecycle.stop()]);
    await lifecycle.stop();
    expect(calls).toEqual(['start a', 'start b', 'start c', 'stop c', 'stop b', 'stop a']);
  });

  it('a failing stop is logged and the others still stop', async () => {
    const { calls, component } = recorder();
    const errors: string[] = [];
    const lifecycle = new Lifecycle({ error: (_o: unknown, msg?: string) => errors.push(String(msg)) });
    lifecycle.add(
      component('a'),
      component('b', {
        stop: async () => {
          throw new Error('boom');
        },
      }),
      component('c'),
    );
    await lifecycle.stop();
    expect(calls).toEqual(['stop c', 'stop a']);
    expect(errors).toEqual(['stop failed']);
  });

  it('a stop during start lets the running start finish, starts nothing more, then stops', async () => {
    const { calls, component } = recorder();
    let release!: () => void;
    const lifecycle = new Lifecycle({ error: () => {} });
    lifecycle.add(
      component('a', {
        start: () =>
          new Promise<void>((resolve) => {
            calls.push('start a');
            release = resolve;
          }),
      }),
      component('b'),
    );
    const starting = lifecycle.start();
    const stopping = lifecycle.stop();
    release();
    await Promise.all([starting, stopping]);
    expect(calls).toEqual(['start a', 'stop b', 'stop a']);
  });

  it('refuses components added after start', async () => {
    const lifecycle = new Lifecycle({ error: () => {} });
    await lifecycle.start();
    expect(() => lifecycle.add({ name: 'late' })).toThrow(/before start/);
  });
});
