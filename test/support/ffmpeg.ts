// ffmpeg's ebur128 filter (a Debian package we do not own): an independent loudness meter to
// cross-check ours against on real recordings.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const FFMPEG_INSTALL_HINT = 'apt-get install -y --no-install-recommends ffmpeg';

/** Whether ffmpeg runs here; in CI (process.env.CI set) its absence throws, so CI cannot pass by skipping. */
export async function hasFfmpeg(): Promise<boolean> {
  try {
    await run('ffmpeg', ['-version']);
    return true;
  } catch {
    if (process.env.CI) throw new Error(`loudness cross-checks need ffmpeg in CI (${FFMPEG_INSTALL_HINT})`);
    return false;
  }
}

export interface Ebur128Summary {
  integratedLufs: number;
  loudnessRangeLu: number;
  truePeakDbtp: number;
}

/** ffmpeg's EBU R128 summary of a file (its values are printed to 0.1). */
export async function ebur128(path: string): Promise<Ebur128Summary> {
  const { stderr } = await run(
    'ffmpeg',
    ['-hide_banner', '-nostats', '-i', path, '-filter_complex', 'ebur128=peak=true', '-f', 'null', '-'],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  const summary = stderr.slice(stderr.lastIndexOf('Summary:'));
  const value = (label: string) => {
    const match = new RegExp(`${label}:\\s+(-?[\\d.]+|-inf)`).exec(summary);
    if (!match) throw new Error(`ffmpeg ebur128 printed no ${label}: ${summary.slice(0, 500)}`);
    return match[1] === '-inf' ? Number.NEGATIVE_INFINITY : Number(match[1]);
  };
  return { integratedLufs: value('I'), loudnessRangeLu: value('LRA'), truePeakDbtp: value('Peak') };
}
