// node-record-lpcm16's sox recorder, bit-exact: the package's own (recorders/sox.js) always
// asks sox for 16 bits and lets sox open the device at its default format. The package loads a
// recorder by path (`require(path.resolve(__dirname, name))`), so capture.ts names this file
// absolutely.
// CommonJS because the package require()s it; copied to dist by tsconfig.build.json (allowJs).
'use strict';

module.exports = (options) => {
  const format = [
    '--rate',
    String(options.sampleRate),
    '--channels',
    String(options.channels),
    '--encoding',
    'signed-integer',
    '--bits',
    String(options.bitDepth || 16),
  ];
  // The format is asked of the device too (the options before --default-device are its own):
  // otherwise sox opens it at its default (stereo) and converts, and a conversion to fewer
  // channels or bits adds dither, moving samples by ±1 LSB. -D: never dither.
  // sox hands its output on in buffers of 8192 bytes by default: 43 ms of 16-bit stereo at
  // 48 kHz, but 5 ms at 8 channels, and the agent pays for every chunk it is woken for. A wider
  // or deeper capture gets buffers of about 40 ms of its audio (at most 64 KiB).
  const bytesPerSecond = options.sampleRate * options.channels * ((options.bitDepth || 16) / 8);
  const bufferBytes = Math.min(65536, Math.round((bytesPerSecond * 0.04) / 1024) * 1024);
  const args = [
    '-D',
    '--no-show-progress',
    ...(bufferBytes > 8192 ? ['--buffer', String(bufferBytes)] : []),
    ...format,
    '--default-device',
    ...format,
    '--type',
    options.audioType,
    '-',
  ];
  const spawnOptions = options.device ? { env: { ...process.env, AUDIODEV: options.device } } : {};
  return { cmd: 'sox', args, spawnOptions };
};
