// The agent's interface reporter (agent/src/link/interface-reporter.ts): reports at start, then
// only a changed set; again on resend (an MQTT reconnect); retries a failed report at the next
// poll; an older controller without the route (404) is not asked again until the set changes.
import { afterEach, describe, expect, it } from 'vitest';
import { ApiError, NetworkError } from '../../agent/src/link/http-client.js';
import { InterfaceReporter } from '../../agent/src/link/interface-reporter.js';
import { silentLogger } from '../../agent/src/support/log.js';
import type { InterfaceReport, ReportedInterface } from '../../shared/src/agent-api.js';

const device = (ref: string, channels = 2): ReportedInterface => ({
  ref,
  kind: 'pulse',
  description: ref,
  channels,
  sampleRate: 48_000,
});

function setup(answer: (report: InterfaceReport) => Promise<void> = async () => {}) {
  let devices = [device('a')];
  const sent: string[][] = [];
  const reporter = new InterfaceReporter({
    api: {
      reportInterfaces: async (report) => {
        sent.push(report.interfaces.map((i) => `${i.ref}:${i.channels}`));
        await answer(report);
        return { created: 0, updated: 0, absent: 0 };
      },
    },
    list: async () => devices,
    log: silentLogger(),
    intervalMs: 60_000, // polls are driven by hand below
  });
  return {
    reporter,
    sent,
    set: (next: ReportedInterface[]) => {
      devices = next;
    },
  };
}

describe('interface reporter', () => {
  let stop: (() => Promise<void>) | undefined;
  afterEach(async () => stop?.());

  it('reports at start, then only when the set changed, and again on resend', async () => {
    const { reporter, sent, set } = setup();
    stop = () => reporter.stop();
    reporter.start();
    await reporter.poll();
    expect(sent).toEqual([['a:2']]);
    set([device('a', 4), device('b')]);
    await reporter.poll();
    await reporter.poll();
    expect(sent).toEqual([['a:2'], ['a:4', 'b:2']]);
    await reporter.resend();
    expect(sent).toEqual([['a:2'], ['a:4', 'b:2'], ['a:4', 'b:2']]);
  });

  it('tries a failed report again at the next poll', async () => {
    let down = true;
    const { reporter, sent } = setup(async () => {
      if (down) throw new NetworkError('PUT /api/v1/nodes/n/interfaces failed');
    });
    stop = () => reporter.stop();
    reporter.start();
    await reporter.poll(); // the start's report and this one both fail
    down = false;
    await reporter.poll();
    await reporter.poll();
    expect(sent).toEqual([['a:2'], ['a:2'], ['a:2']]);
  });

  it('does not ask a controller without the route again until the set changes', async () => {
    const { reporter, sent, set } = setup(async () => {
      throw new ApiError(404, 'not_found', 'Route PUT:/api/v1/nodes/n/interfaces not found');
    });
    stop = () => reporter.stop();
    reporter.start();
    await reporter.poll();
    await reporter.poll();
    expect(sent).toEqual([['a:2']]);
    set([device('b')]);
    await reporter.poll();
    expect(sent).toEqual([['a:2'], ['b:2']]);
  });

  it('does nothing once stopped', async () => {
    const { reporter, sent } = setup();
    reporter.start();
    await reporter.poll();
    await reporter.stop();
    await reporter.resend();
    expect(sent).toEqual([['a:2']]);
  });
});
