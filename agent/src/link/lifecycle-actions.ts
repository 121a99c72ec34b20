/**
 * What the agent does for each lifecycle action (shared/src/lifecycle.ts). The allowlist is the
 * type: a handler for each action and nothing else (commands.ts refuses the rest).
 */
import { statfs } from 'node:fs/promises';
import type { NodeConfig } from '../../../shared/src/agent-api.js';
import type { Diagnostics, LifecycleAction } from '../../../shared/src/lifecycle.js';
import type { CaptureOptions } from '../capture/capture.js';
import type { LogRing } from '../support/log-ring.js';
import type { LifecycleHandler } from './commands.js';
import type { AgentHttpClient } from './http-client.js';

export interface LifecycleTargets {
  agentVersion: string;
  cacheDir: string;
  api: Pick<AgentHttpClient, 'rotateCredential' | 'uploadDiagnostics'>;
  config: () => NodeConfig;
  capture: {
    readonly format: CaptureOptions;
    readonly state: string;
    reconfigure(options: CaptureOptions): Promise<void>;
  };
  /** Jobs recording now: the capture is not restarted under them. */
  recording: () => string[];
  /** Refetches the node config and applies it. */
  reloadConfig: () => Promise<void>;
  /** Retries parked uploads and starts the queue now; answers how many wait. */
  uploadNow: () => number;
  /** The capture devices found now. */
  devices: () => Promise<unknown[]>;
  pendingUploads: () => number;
  logs: LogRing;
  /** Stores the new credential where the next start reads it. */
  storeCredential: (credential: string) => Promise<void>;
  /** Stops everything and starts again (re-reading the stored state). */
  restart: () => void;
}

export function lifecycleActions(t: LifecycleTargets): Record<LifecycleAction, LifecycleHandler> {
  return {
    'restart-agent': () => ({ message: 'agent restarting', afterAnswer: t.restart }),

    'restart-capture': async () => {
      const recording = t.recording();
      if (recording.length > 0)
        throw new Error(
          `not restarting the capture: ${recording.length} recording(s) would be cut (${recording.join(', ')}); stop them first`,
        );
      await t.capture.reconfigure(t.capture.format);
      return `capture restarted on ${t.capture.format.device ?? 'the default device'}`;
    },

    'reload-config': async () => {
      await t.reloadConfig();
      return 'config reloaded';
    },

    'upload-now': () => {
      const waiting = t.uploadNow();
      return waiting === 0 ? 'nothing to upload' : `uploading ${waiting} recording(s) now`;
    },

    // The new credential works as soon as it is issued; the old one until the controller first
    // sees the new one. So: fetch, store (atomically), then restart with it. A crash in between
    // leaves the old one in the state file, still valid.
    'rotate-credential': async (jobId) => {
      const { credential } = await t.api.rotateCredential(jobId);
      await t.storeCredential(credential);
      return { message: 'credential rotated; the agent restarts with the new one', afterAnswer: t.restart };
    },

    'collect-diagnostics': async (jobId) => {
      const disk = await statfs(t.cacheDir);
      const diagnostics: Diagnostics = {
        agentVersion: t.agentVersion,
        collectedAt: new Date().toISOString(),
        config: t.config(),
        logLines: t.logs.recent,
        devices: (await t.devices()).slice(0, 256),
        capture: { device: t.capture.format.device ?? 'default', state: t.capture.state },
        disk: { freeBytes: disk.bavail * disk.bsize, totalBytes: disk.blocks * disk.bsize },
        pendingUploads: t.pendingUploads(),
      };
      await t.api.uploadDiagnostics(jobId, diagnostics);
      return `diagnostics uploaded (${t.logs.recent.length} log lines)`;
    },
  };
}
