/**
 * The composition root of the agent daemon: builds every component, starts them in a
 * fixed order and stops them in reverse, once (Zigbee2MQTT lib/controller.ts).
 *
 * Before the components: state → HTTP client → journal → offline cache → node config: the
 * cached one at once when there is one (the controller is refreshed in the background),
 * else the controller's (waiting for it: the first boot ever). Components: meters and the
 * PCM tap (listening before the capture runs) → capture → MQTT link → live listen streams → heartbeat → health
 * (watchdog and its event queue) → audio interface reports → recorder (finishes and continues
 * interrupted recordings) → uploader → claim loop → schedule runner → controller sync.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { NodeConfig } from '../../shared/src/agent-api.js';
import { packageVersion } from '../../shared/src/version.js';
import { captureOptionsFor, sameCapture } from './capture/capture-options.js';
import { listCaptureDevices } from './capture/devices.js';
import { MeterFeed } from './capture/meter-feed.js';
import { PcmTap } from './capture/pcm-tap.js';
import { type CaptureFactory, CaptureSupervisor } from './capture/supervisor.js';
import { AgentHealth } from './health/index.js';
import { ClaimLoop } from './jobs/claim-loop.js';
import { jobHeartbeatIntervalMs } from './jobs/lease-keeper.js';
import { PartRegistrar } from './jobs/part-registrar.js';
import { Recorder } from './jobs/recorder.js';
import { ScheduleRunner } from './jobs/schedule-runner.js';
import { ClockTracker } from './link/clock.js';
import { agentCommandTable } from './link/commands.js';
import { ControllerSync, credentialRejected } from './link/controller-sync.js';
import { Heartbeat } from './link/heartbeat.js';
import { AgentHttpClient, describeError, isRetryable } from './link/http-client.js';
import { HttpFallback } from './link/http-fallback.js';
import { InterfaceReporter } from './link/interface-reporter.js';
import { lifecycleActions } from './link/lifecycle-actions.js';
import { brokerUrl, MqttLink, type MqttLinkOptions } from './link/mqtt-link.js';
import { ListenStreams } from './listen/listen-streams.js';
import { JobJournal, journalPath } from './state/journal.js';
import { OfflineCache } from './state/offline-cache.js';
import type { AgentSettings } from './state/settings.js';
import { loadAgentState, writeAgentState } from './state/state-file.js';
import { Backoff, type BackoffOptions, sleep } from './support/backoff.js';
import type { Logger } from './support/log.js';
import { LogRing } from './support/log-ring.js';
import { CacheRetention } from './uploads/cache-retention.js';
import { Uploader } from './uploads/uploader.js';

export interface AgentOptions {
  settings: AgentSettings;
  log: Logger;
  /** The sound card: tests pass a fake; default spawns sox. */
  createCapture?: CaptureFactory;
  connectMqtt?: MqttLinkOptions['connect'];
  fetch?: typeof fetch;
  backoff?: BackoffOptions;
  /**
   * Called (after the agent stopped itself) when it cannot go on: the controller rejected
   * the credential while the agent was running from its cache. The CLI exits non-zero.
   */
  onFatal?: (error: Error) => void;
  /** How often the occurrences are synced (tests); default every 5 minutes. */
  syncIntervalMs?: number;
  /** How often the audio interfaces are listed (tests); default every 30 s. */
  interfacePollMs?: number;
  /** Replaces a recording profile's segment length, in seconds (tests: settings allow 60 s at least). */
  segmentSecondsOverride?: number;
}

/** A part of the running agent: its constructor only assigns; start() and stop() do the work. */
export interface Component {
  start(): Promise<void> | void;
  stop(): Promise<void> | void;
}

/** The working parts of a started agent. */
export interface AgentParts {
  journal: JobJournal;
  recorder: Recorder;
  schedule: ScheduleRunner;
  uploader: Uploader;
}

interface NamedComponent {
  name: string;
  component: Component;
}

export class Agent {
  private readonly started: NamedComponent[] = [];
  private readonly startup = new AbortController();
  private stopping: Promise<void> | undefined;
  private restarting: Promise<void> | undefined;
  private config: NodeConfig | undefined;
  private running: AgentParts | undefined;
  /** The last log lines (collect-diagnostics), kept across restarts. */
  private readonly logs = new LogRing();
  private readonly log: Logger;

  constructor(private readonly options: AgentOptions) {
    this.log = this.logs.tee(options.log);
  }

  /**
   * Stops every part and starts again in this process (restart-agent, and after a credential
   * rotation): state, config and credential are read afresh. A stop() meanwhile wins.
   */
  restart(): Promise<void> {
    if (this.stopping) return this.stopping;
    this.restarting ??= (async () => {
      this.log.info('earshot agent restarting');
      await this.stopStarted();
      this.running = undefined;
      if (!this.stopping) await this.start();
    })()
      .catch((error: Error) => this.fail(error))
      .finally(() => {
        this.restarting = undefined;
      });
    return this.restarting;
  }

  /** The node config in use (after start). */
  get nodeConfig(): NodeConfig | undefined {
    return this.config;
  }

  /** The working parts, once started (tests and diagnostics look at them). */
  get parts(): AgentParts | undefined {
    return this.running;
  }

  /**
   * Starts everything. With a cached node config it starts from it at once and refreshes
   * from the controller in the background; without one (first boot) it waits, retrying
   * with backoff, for the controller to hand one out, and resolves early, with nothing
   * more started, if stop() is called meanwhile. Throws on what a retry cannot fix (not
   * enrolled, credential rejected).
   */
  async start(): Promise<void> {
    const { settings } = this.options;
    const log = this.log;
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
    const cache = new OfflineCache(settings.cacheDir);
    await cache.loadStarted();
    const clock = new ClockTracker({ cache, log, warnMs: settings.clockWarnMs });
    await clock.load();
    log.info({ nodeId: state.nodeId, controller: state.controllerUrl, version }, 'earshot agent starting');

    // A cache written for another node (the device was enrolled again) is no cache.
    const cachedConfig = await cache.readConfig();
    const cached = cachedConfig?.config.nodeId === state.nodeId ? cachedConfig : undefined;
    if (cachedConfig && !cached) log.warn('ignoring the cached node config: it belongs to another node');
    let config: NodeConfig;
    if (cached) {
      config = cached.config;
      log.info(
        { savedAt: new Date(cached.savedAtMs).toISOString() },
        'starting from the cached node config; the controller is asked in the background',
      );
    } else {
      const fetched = await this.fetchConfig(api);
      if (!fetched) return; // stopped while waiting for the controller
      config = fetched;
      await cache.saveConfig(config);
    }
    this.config = config;
    const currentConfig = (): NodeConfig => this.config ?? config;
    const heartbeatIntervalMs = () => jobHeartbeatIntervalMs(currentConfig().leaseSeconds);

    const capture = new CaptureSupervisor({
      capture: captureOptionsFor(config, settings.deviceOverride),
      log,
      createCapture: this.options.createCapture,
    });
    const tap = new PcmTap(capture);
    const registrar = new PartRegistrar({ api, journal, log, backoff: this.options.backoff });
    const cacheRetention = new CacheRetention({
      journal,
      api,
      policies: () => currentConfig().cacheRetention ?? [],
      cacheDir: settings.cacheDir,
      log,
    });
    const uploader = new Uploader({
      api,
      journal,
      registrar,
      log,
      jobHeartbeatIntervalMs: heartbeatIntervalMs,
      backoff: this.options.backoff,
      cache: cacheRetention,
    });
    const recorder = new Recorder({
      api,
      journal,
      registrar,
      uploader,
      tap,
      recordingsDir: join(settings.cacheDir, 'recordings'),
      log,
      jobHeartbeatIntervalMs: heartbeatIntervalMs,
      clockOffsetMs: () => clock.offsetMs,
      recordingProfile: () => currentConfig().recordingProfile,
      enabledChannels: () => currentConfig().capture.enabledChannels,
      segmentSecondsOverride: this.options.segmentSecondsOverride,
      backoff: this.options.backoff,
    });
    const claimLoop = new ClaimLoop({
      api,
      recorder,
      log,
      timings: () => ({ jobPollIntervalMs: currentConfig().jobPollIntervalSeconds * 1000 }),
      backoff: this.options.backoff,
    });
    const schedule = new ScheduleRunner({
      recorder,
      journal,
      started: cache,
      api,
      log,
      backoff: this.options.backoff,
    });
    const cachedOccurrences = cached ? ((await cache.readOccurrences())?.occurrences ?? []) : [];
    schedule.update(cachedOccurrences.filter((o) => o.nodeId === state.nodeId));
    const applyConfig = async (next: NodeConfig): Promise<void> => {
      const wanted = captureOptionsFor(next, settings.deviceOverride);
      this.config = next;
      uploader.retryParked();
      void cacheRetention.run(); // the policies may have changed
      if (sameCapture(wanted, capture.format)) return;
      if (recorder.activeJobIds.length > 0) {
        throw new Error('capture settings changed while recording; they apply when nothing records');
      }
      await capture.reconfigure(wanted);
    };
    const sync = new ControllerSync({
      api,
      cache,
      clock,
      log,
      applyConfig,
      applyOccurrences: (occurrences) => schedule.update(occurrences),
      onCredentialRejected: (error) => void this.fail(error),
      onRecovered: () => mqtt.reconnectNow(),
      intervalMs: this.options.syncIntervalMs,
      backoff: this.options.backoff,
    });
    const listDevices = () =>
      listCaptureDevices({ configured: { ...capture.format, device: capture.format.device ?? 'default' } });
    const interfaces = new InterfaceReporter({
      api,
      log,
      intervalMs: this.options.interfacePollMs,
      list: listDevices,
    });
    // Live data MQTT cannot take while it is down goes over HTTP, kept fresh rather than queued.
    const fallback = new HttpFallback({ api, log });
    const listen = new ListenStreams({
      tap,
      publish: (frame) => {
        if (!mqtt.publishListen(frame)) fallback.listen(frame);
      },
      log,
    });
    const mqtt = new MqttLink({
      url: settings.mqttUrlOverride ?? brokerUrl(state.controllerUrl, config.mqttPort),
      nodeId: state.nodeId,
      credential: state.credential,
      agentVersion: version,
      log,
      connect: this.options.connectMqtt,
      backoff: this.options.backoff,
      onConnect: () => {
        void sync.refresh();
        void interfaces.resend();
        health.flush();
      },
      commands: agentCommandTable({
        wakeClaimLoop: () => claimLoop.wake(),
        stopRecording: (jobId) => recorder.stopRecording(jobId),
        refetchConfig: () => sync.refreshConfig(),
        syncSchedule: () => sync.syncOccurrences(),
        listen,
        lifecycle: lifecycleActions({
          agentVersion: version,
          cacheDir: settings.cacheDir,
          api,
          config: currentConfig,
          capture,
          recording: () => recorder.activeJobIds,
          reloadConfig: () => sync.refreshConfig(),
          uploadNow: () => {
            uploader.retryParked();
            return uploader.pending.length;
          },
          devices: listDevices,
          pendingUploads: () => uploader.pending.length,
          logs: this.logs,
          storeCredential: (credential) => writeAgentState(settings.statePath, { ...state, credential }),
          restart: () => void this.restart(),
        }),
      }),
    });
    const heartbeat = new Heartbeat({
      api,
      agentVersion: version,
      cacheDir: settings.cacheDir,
      capture: () => ({ device: capture.format.device ?? 'default', state: capture.state }),
      intervalMs: () => currentConfig().heartbeatIntervalSeconds * 1000,
      headroomHours: () => health.monitor.headroomHours,
      clock,
      onRecovered: () => {
        mqtt.reconnectNow();
        void sync.refresh();
      },
      log,
    });

    const health = new AgentHealth({
      nodeId: state.nodeId,
      log,
      transport: { mqtt, http: api },
      captureEvents: capture,
      config: currentConfig,
      sources: {
        capture,
        recordingCount: () => recorder.activeJobIds.length,
        journal: () => journal.list(),
        clockOffsetMs: () => clock.offsetMs,
        cacheDir: settings.cacheDir,
      },
    });

    // One capture feeds the meters, the watchdog and every recording.
    const meters = new MeterFeed({
      source: capture,
      windowMs: () => currentConfig().meterIntervalMs,
      publish: (frame) => {
        if (mqtt.publishMeter(frame)) fallback.meterSentElsewhere();
        else fallback.meter(frame);
        health.meter(frame);
      },
    });

    const started = await this.startInOrder([
      { name: 'meters', component: meters },
      { name: 'pcm tap', component: tap },
      { name: 'capture', component: capture },
      { name: 'mqtt', component: mqtt },
      { name: 'http fallback', component: fallback },
      { name: 'listen', component: listen },
      { name: 'heartbeat', component: heartbeat },
      { name: 'health', component: health },
      { name: 'interfaces', component: interfaces },
      { name: 'recorder', component: recorder }, // recovers and continues interrupted recordings
      { name: 'uploader', component: uploader },
      { name: 'cache retention', component: cacheRetention },
      { name: 'claim loop', component: claimLoop },
      { name: 'schedule', component: schedule },
      { name: 'controller sync', component: sync },
    ]);
    if (!started) return;
    this.running = { journal, recorder, schedule, uploader };
    log.info(
      {
        device: capture.format.device ?? 'default',
        pendingUploads: uploader.pending.length,
        scheduledOccurrences: schedule.scheduled.length,
        offline: cached !== undefined,
      },
      'earshot agent running',
    );
  }

  /** Stops what started, in reverse order; safe to call more than once (one shutdown). */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.startup.abort();
      await this.restarting;
      await this.stopStarted();
      this.log.info('earshot agent stopped');
    })();
    return this.stopping;
  }

  private async stopStarted(): Promise<void> {
    for (const { name, component } of this.started.reverse()) {
      try {
        await component.stop();
      } catch (error) {
        this.log.error(`stopping ${name} failed: ${describeError(error)}`);
      }
    }
    this.started.length = 0;
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

  /** Stops the agent on what it cannot recover from, and says so. */
  private async fail(error: Error): Promise<void> {
    this.log.error(error.message);
    await this.stop();
    this.options.onFatal?.(error);
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
        const rejected = credentialRejected(error);
        if (rejected) throw rejected;
        if (!isRetryable(error)) throw new Error(`cannot load the node config: ${describeError(error)}`);
        const delayMs = backoff.next();
        this.log.warn({ retryInMs: delayMs }, `controller not reachable yet: ${describeError(error)}`);
        await sleep(delayMs, signal);
      }
    }
    return undefined;
  }
}
