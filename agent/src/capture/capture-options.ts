/** The capture a node's config asks for, and when a running capture must restart for another. */
import type { NodeConfig } from '../../../shared/src/agent-api.js';
import type { CaptureOptions } from './capture.js';
import { DEFAULT_BIT_DEPTH, isBitDepth } from './pcm-format.js';

/** EARSHOT_AGENT_DEVICE (deviceOverride) wins; '' or 'default' = the driver's default. */
export function captureOptionsFor(config: NodeConfig, deviceOverride: string | undefined): CaptureOptions {
  const device = deviceOverride ?? config.capture.device;
  const { bitDepth } = config.capture;
  return {
    device: device === '' || device === 'default' ? undefined : device,
    sampleRate: config.capture.sampleRate,
    channels: config.capture.channels,
    // Absent in a config cached by an older controller.
    bitDepth: isBitDepth(bitDepth) ? bitDepth : DEFAULT_BIT_DEPTH,
  };
}

/** Same device, rate, channels and depth: no restart needed. */
export function sameCapture(a: CaptureOptions, b: CaptureOptions): boolean {
  return (
    a.device === b.device &&
    a.sampleRate === b.sampleRate &&
    a.channels === b.channels &&
    (a.bitDepth ?? DEFAULT_BIT_DEPTH) === (b.bitDepth ?? DEFAULT_BIT_DEPTH)
  );
}
