/**
 * The watchdog's thresholds: the body of a `watchdog-policies` settings object, and what an
 * agent checks when its node has no policy (the family's defaults, in one place for both).
 */
export interface WatchdogThresholds {
  /** Below this level (RMS, dBFS) is silence… */
  silenceDbfs: number;
  /** …once it has lasted this long. */
  silenceSeconds: number;
  /** This many clipped samples within the window is clipping. */
  clipCountPerWindow: number;
  clipWindowSeconds: number;
  /** Disk low below this free percent, or below this many hours of recording headroom. */
  diskLowPercent: number;
  diskLowHours: number;
  /** The clock further than this from the controller's is skewed. */
  clockSkewSeconds: number;
  /** A recording waiting longer than this to upload is a backlog. */
  uploadBacklogMinutes: number;
}

export const DEFAULT_WATCHDOG_THRESHOLDS: WatchdogThresholds = {
  silenceDbfs: -60,
  silenceSeconds: 30,
  clipCountPerWindow: 10,
  clipWindowSeconds: 60,
  diskLowPercent: 10,
  diskLowHours: 24,
  clockSkewSeconds: 2,
  uploadBacklogMinutes: 60,
};
