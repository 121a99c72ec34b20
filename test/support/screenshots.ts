/**
 * Screenshot baselines for the console (test/console-baselines/<name>-<width>.png): a
 * screenshot is compared pixel by pixel with its committed baseline (pixelmatch, per-pixel
 * colour threshold 0.1, anti-aliased pixels not counted); more than MAX_DIFF_RATIO of the pixels
 * differing fails, naming the page and the ratio, with the actual image and the diff written to
 * a temp directory. A missing baseline fails too, except in update mode
 * (`EARSHOT_UPDATE_SCREENSHOTS=1`, `npm run test:screenshots:update`), which writes every
 * baseline that is missing or differs at all, and leaves the others untouched.
 *
 * The browser's fonts are pinned as well: `pinnedFonts()` is a fontconfig file that offers
 * Chromium only the six faces of Debian's fonts-dejavu-core (scripts/system-deps.sh installs
 * it), whatever else the machine has, so `system-ui`, `sans-serif` and `monospace` resolve the
 * same here and on CI.
 */
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pixelmatch from 'pixelmatch';
import { PNG } from 'pngjs';

export const BASELINE_DIR = fileURLToPath(new URL('../console-baselines/', import.meta.url));
/** Where a failing comparison leaves its actual image and diff. */
export const FAILED_DIR = join(tmpdir(), 'earshot-screenshots');
export const UPDATING = process.env.EARSHOT_UPDATE_SCREENSHOTS === '1';
/** Per-pixel colour distance (0..1) under which two pixels count as the same. */
const PIXEL_THRESHOLD = 0.1;
/** Share of differing pixels a screenshot may have (sub-pixel text rendering, nothing more). */
export const MAX_DIFF_RATIO = 0.001;

export type Comparison =
  | { status: 'same'; ratio: number }
  | { status: 'updated' | 'created' }
  | { status: 'missing'; actualPath: string }
  | { status: 'different'; ratio: number; actualPath: string; diffPath: string }
  | { status: 'resized'; actualPath: string; size: string };

/** Compares a PNG screenshot with `BASELINE_DIR/<name>.png` (or writes it, in update mode). */
export async function compareWithBaseline(name: string, png: Buffer): Promise<Comparison> {
  const baselinePath = join(BASELINE_DIR, `${name}.png`);
  const baseline = await readFile(baselinePath).catch(() => undefined);
  const write = async (path: string, content: Buffer) => {
    await mkdir(join(path, '..'), { recursive: true });
    await writeFile(path, content);
    return path;
  };
  const actualPath = join(FAILED_DIR, `${name}.actual.png`);
  if (!baseline) {
    if (UPDATING) {
      await write(baselinePath, png);
      return { status: 'created' };
    }
    return { status: 'missing', actualPath: await write(actualPath, png) };
  }
  // The same bytes are the same picture: no decoding, no pixel comparison (most shots, most runs).
  if (baseline.equals(png)) return { status: 'same', ratio: 0 };
  const expected = PNG.sync.read(baseline);
  const actual = PNG.sync.read(png);
  if (expected.width !== actual.width || expected.height !== actual.height) {
    if (UPDATING) {
      await write(baselinePath, png);
      return { status: 'updated' };
    }
    return {
      status: 'resized',
      actualPath: await write(actualPath, png),
      size: `${actual.width}×${actual.height}, baseline ${expected.width}×${expected.height}`,
    };
  }
  const { width, height } = actual;
  const diff = new PNG({ width, height });
  const differing = pixelmatch(expected.data, actual.data, diff.data, width, height, {
    threshold: PIXEL_THRESHOLD,
  });
  const ratio = differing / (width * height);
  if (UPDATING && differing > 0) {
    await write(baselinePath, png);
    return { status: 'updated' };
  }
  if (ratio <= MAX_DIFF_RATIO) return { status: 'same', ratio };
  return {
    status: 'different',
    ratio,
    actualPath: await write(actualPath, png),
    diffPath: await write(join(FAILED_DIR, `${name}.diff.png`), PNG.sync.write(diff)),
  };
}

/** A failed comparison in one line: the page, how it differs, where to look. */
export function describeFailure(name: string, result: Comparison): string | undefined {
  switch (result.status) {
    case 'missing':
      return `${name}: no baseline (test/console-baselines/${name}.png); run \`npm run test:screenshots:update\` to create it (actual: ${result.actualPath})`;
    case 'resized':
      return `${name}: size differs (${result.size}); actual: ${result.actualPath}`;
    case 'different':
      return `${name}: ${(result.ratio * 100).toFixed(3)}% of pixels differ (allowed ${MAX_DIFF_RATIO * 100}%); actual: ${result.actualPath}, diff: ${result.diffPath}`;
    default:
      return undefined;
  }
}

/** fonts-dejavu-core's faces: what the screenshots are drawn with. */
const DEJAVU_DIR = '/usr/share/fonts/truetype/dejavu';
const DEJAVU_CORE = [
  'DejaVuSans',
  'DejaVuSans-Bold',
  'DejaVuSansMono',
  'DejaVuSansMono-Bold',
  'DejaVuSerif',
  'DejaVuSerif-Bold',
];

/**
 * A fontconfig file (for Chromium's FONTCONFIG_FILE) offering only fonts-dejavu-core's faces,
 * linked into a directory of their own (so extra faces the machine has, fonts-dejavu-extra's
 * obliques for one, are not picked), with the generic families mapped onto them.
 */
export async function pinnedFonts(): Promise<string> {
  const dir = join(tmpdir(), `earshot-screenshot-fonts-${process.pid}`);
  const fonts = join(dir, 'fonts');
  await mkdir(fonts, { recursive: true });
  for (const face of DEJAVU_CORE) {
    const source = join(DEJAVU_DIR, `${face}.ttf`);
    await readFile(source).catch(() => {
      throw new Error(`${source} is missing: install fonts-dejavu-core (bash scripts/system-deps.sh)`);
    });
    await symlink(source, join(fonts, `${face}.ttf`)).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'EEXIST') throw error;
    });
  }
  const alias = (family: string, to: string) =>
    `<alias binding="same"><family>${family}</family><prefer><family>${to}</family></prefer></alias>`;
  const file = join(dir, 'fonts.conf');
  await writeFile(
    file,
    `<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig>
  <dir>${fonts}</dir>
  <cachedir>${join(dir, 'cache')}</cachedir>
  ${alias('system-ui', 'DejaVu Sans')}
  ${alias('sans-serif', 'DejaVu Sans')}
  ${alias('serif', 'DejaVu Serif')}
  ${alias('monospace', 'DejaVu Sans Mono')}
  <match target="font">
    <edit name="antialias" mode="assign"><bool>true</bool></edit>
    <edit name="hinting" mode="assign"><bool>false</bool></edit>
    <edit name="rgba" mode="assign"><const>none</const></edit>
  </match>
</fontconfig>
`,
  );
  return file;
}
