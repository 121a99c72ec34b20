/**
 * The composition root of the agent daemon: builds every component, starts them in a
 * fixed order and stops them in reverse, once (Zigbee2MQTT lib/controller.ts).
 *
 * Before the components: state → HTTP client → journal → node config (waits for the
 * controller). Components: meters (listening before the capture runs) → capture → MQTT
 * link → heartbeat → uploader → claim loop.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { NodeConfig } from '../../shared/src/agent-api.js';
import { packageVersion } from '../../shared/src/version.js';
import type { CaptureOptions } from './capture/capture.js';
import { MeterFeed } from './capture/meter-feed.js';
import { type CaptureFactory, CaptureSupervisor } from './capture/supervisor.js';
import { ClaimLoop } from './jobs/claim-loop.js';
import { jobHeartbeatIntervalMs } from './jobs/lease-keeper.js';
import { agentCommandTable } from './link/commands.js';
import { Heartbeat } from './link/heartbeat.js';
import { AgentHttpClient, ApiError, describeError, isRetryable } from './link/http-client.js';
import { brokerUrl, MqttLink, type MqttLinkOptions } from './link/mqtt-link.js';
import { JobJournal, journalPath } from './state/journal.js';
import type { AgentSettings } from './state/settings.js';
import { loadAgentState } from './state/state-file.js';
import { Backoff, type BackoffOptions, sleep } from './support/backoff.js';
import type { Logger } from './support/log.js';
import { Uploader } from './uploads/uploader.js';

export interface AgentOptions {
  settings: AgentSettings;
  log: Logger;
  /** The sound card: tests pass a fake; default spawns sox. */
  createCapture?: CaptureFactory;
  connectMqtt?: MqttLinkOptions['connect'];
  fetch?: typeof fetch;
  backoff?: BackoffOptions;
}

/** A part of the running agent: its constructor only assigns; start() and stop() do the work. */
export interface Component {
  start(): Promise<void> | void;
  stop(): Promise<void> | void;
}

interface NamedComponent {
  name: string;
  component: Component;
}

/** The capture a config asks for; EARSHOT_AGENT_DEVICE wins; '' or 'default' = the driver's default. */
export function captureOptionsFor(config: NodeConfig, deviceOverride: string | undefined): CaptureOptions {
  const device = deviceOverride ?? config.capture.device;
  return {
    device: device === '' || device === 'default' ? undefined : device,
    sampleRate: config.capture.sampleRate,
    channels: config.capture.channels,
  };
}

function sameCapture(a: CaptureOptions, b: CaptureOptions): boolean {
  return a.device === b.device && a.sampleRate === b.sampleRate && a.channels === b.channels;
}

export class Agent {
  private readonly started: NamedComponent[] = [];
  private readonly startup = new AbortController();
  private stopping: Promise<void> | undefined;
  private config: NodeConfig | undefined;

  constructor(private readonly options: AgentOptions) {}

  /** The node config in use (after start). */
  get nodeConfig(): NodeConfig | undefined {
    return this.config;
  }

  /**
   * Starts everything. Waits (retrying with backoff) for the controller to hand out the
   * node config; resolves early, with nothing more started, if stop() is called meanwhile.
   * Throws on what a retry cannot fix (not enrolled, credential rejected).
   */
  async start(): Promise<void> {
    const { settings, log } = this.options;
    const state = await loadAgentState(settings.statePath);
    const version = packageVersion();
    const api = new AgentHttpClient({
      baseUrl: state.controllerUrl,
      credential: state.credential,
      fetch: this.options.fetch,
    });
    await mkdir(settings.cacheDir, { recursive: true, mode: 0o700 });
    const journal = new JobJournal(journalPath(settings.cacheDir));
    await journal.load();
    log.info({ nodeId: state.nodeId, controller: state.controllerUrl, version }, 'earshot agent starting');

    const config = await this.fetchConfig(api);
    if (!config) return; // stopped while waiting for the controller
    this.config = config;
    const currentConfig = (): NodeConfig => this.config ?? config;

    const capture = new CaptureSupervisor({
      capture: captureOptionsFor(config, settings.deviceOverride),
      log,
      createCapture: this.options.createCapture,
    });
    const uploader = new Uploader({
      api,
      journal,
      log,
      jobHeartbeatIntervalMs: () => jobHeartbeatIntervalMs(currentConfig().leaseSeconds),
      backoff: this.options.backoff,
    });
    const claimLoop = new ClaimLoop({
      api,
      journal,
      uploader,
      source: capture,
      recordingsDir: join(settings.cacheDir, 'recordings'),
      log,
      timings: () => ({
        jobPollIntervalMs: currentConfig().jobPollIntervalSeconds * 1000,
        jobHeartbeatIntervalMs: jobHeartbeatIntervalMs(currentConfig().leaseSeconds),
      }),
      backoff: this.options.backoff,
    });
    const refetchConfig = async (): Promise<void> => {
      const next = await api.config(this.startup.signal);
      const wanted = captureOptionsFor(next, settings.deviceOverride);
      this.config = next;
      uploader.retryParked();
      if (sameCapture(wanted, capture.format)) return;
      if (claimLoop.currentJobId) {
        throw new Error('capture settings changed while recording; they apply after restarting the agent');
      }
      await capture.reconfigure(wanted);
    };
    const mqtt = new MqttLink({
      url: settings.mqttUrlOverride ?? brokerUrl(state.controllerUrl, config.mqttPort),
      nodeId: state.nodeId,
      credential: state.credential,
      agentVersion: version,
      log,
      connect: this.options.connectMqtt,
      backoff: this.options.backoff,
      commands: agentCommandTable({
        wakeClaimLoop: () => claimLoop.wake(),
        stopRecording: (jobId) => claimLoop.stopRecording(jobId),
        refetchConfig,
      }),
    });
    const heartbeat = new Heartbeat({
      api,
      agentVersion: version,
      cacheDir: settings.cacheDir,
      capture: () => ({ device: capture.format.device ?? 'default', state: capture.state }),
      intervalMs: () => currentConfig().heartbeatIntervalSeconds * 1000,
      log,
    });

    // One capture feeds the meters and the recorder.
    const meters = new MeterFeed({
      source: capture,
      windowMs: () => currentConfig().meterIntervalMs,
      publish: (frame) => mqtt.publishMeter(frame),
    });

    const started = await this.startInOrder([
      { name: 'meters', component: meters },
      { name: 'capture', component: capture },
      { name: 'mqtt', component: mqtt },
      { name: 'heartbeat', component: heartbeat },
      { name: 'uploader', component: uploader },
      { name: 'claim loop', component: claimLoop }, // recovers interrupted recordings first
    ]);
    if (!started) return;
    log.info(
      { device: capture.format.device ?? 'default', pendingUploads: uploader.pending.length },
      'earshot agent running',
    );
  }

  /** Stops what started, in reverse order; safe to call more than once (one shutdown). */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.startup.abort();
      for (const { name, component } of this.started.reverse()) {
        try {
          await component.stop();
        } catch (error) {
          this.options.log.error(`stopping ${name} failed: ${describeError(error)}`);
        }
      }
      this.started.length = 0;
      this.options.log.info('earshot agent stopped');
    })();
    return this.stopping;
  }

  /**
   * Starts the components one after another, each only if stop() has not been called;
   * false when it was (stop() stops what had started). A start that completes
   * synchronously is not awaited, so those run back to back as one step.
   */
  private async startInOrder(components: NamedComponent[]): Promise<boolean> {
    for (const entry of components) {
      if (this.stopping) return false;
      const starting = entry.component.start();
      if (starting instanceof Promise) {
        await starting;
        if (this.stopping) {
          await entry.component.stop(); // stop() ran meanwhile and did not know about it
          return false;
        }
      }
      this.started.push(entry);
    }
    return true;
  }

  /** GET config, retrying while the controller is unreachable. Undefined when stopped meanwhile. */
  private async fetchConfig(api: AgentHttpClient): Promise<NodeConfig | undefined> {
    const backoff = new Backoff({ baseMs: 1000, capMs: 60_000, ...this.options.backoff });
    const signal = this.startup.signal;
    while (!signal.aborted) {
      try {
        return await api.config(signal);
      } catch (error) {
        if (signal.aborted) return undefined;
        if (error instanceof ApiError && (error.status === 401 || error.status === 403)) {
          throw new Error(
            `the controller rejected this node's credential (${error.status} ${error.code}): ` +
              're-enroll with earshot-agent enroll --controller URL --token T',
          );
        }
        if (!isRetryable(error)) throw new Error(`cannot load the node config: ${describeError(error)}`);
        const delayMs = backoff.next();
        this.options.log.warn(
          { retryInMs: delayMs },
          `controller not reachable yet: ${describeError(error)}`,
        );
        await sleep(delayMs, signal);
      }
    }
    return undefined;
  }
}
