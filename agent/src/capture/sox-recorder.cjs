// node-record-lpcm16's sox recorder with the sample depth as an option: the package's own
// (recorders/sox.js) always asks sox for 16 bits. The package loads a recorder by path
// (`require(path.resolve(__dirname, name))`), so capture.ts names this file absolutely.
// CommonJS because the package require()s it; copied to dist by tsconfig.build.json (allowJs).
'use strict';

module.exports = (options) => {
  const args = [
    '--default-device',
    '--no-show-progress',
    '--rate',
    String(options.sampleRate),
    '--channels',
    String(options.channels),
    '--encoding',
    'signed-integer',
    '--bits',
    String(options.bitDepth || 16),
    '--type',
    options.audioType,
    '-',
  ];
  const spawnOptions = options.device ? { env: { ...process.env, AUDIODEV: options.device } } : {};
  return { cmd: 'sox', args, spawnOptions };
};
