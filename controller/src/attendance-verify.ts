#!/usr/bin/env node
/**
 * `earshot-attendance-verify <export.json>`: checks a signed period export offline.
 * Imports only node builtins, commander, cli-progress and the pure signing code
 * (which itself uses only @noble/ed25519 and canonicalize), never the controller's
 * config or database, so a member can verify with nothing but the file.
 *
 * Exit status: 0 valid, 1 invalid (the reason is printed), 2 unreadable input.
 */
import { readFile } from 'node:fs/promises';
import cliProgress from 'cli-progress';
import { Command, CommanderError, Option } from 'commander';
import { type ExportVerification, type VerifyEngine, verifyExport } from './modules/attendance/index.js';

const EXIT_VALID = 0;
const EXIT_INVALID = 1;
const EXIT_UNREADABLE = 2;
/** Below this many records a check takes well under a second; no bar. */
const PROGRESS_BAR_MIN_RECORDS = 1000;

interface CliOptions {
  json?: boolean;
  keyId?: string[];
  engine: VerifyEngine;
  progress: boolean;
}

const program = new Command()
  .name('earshot-attendance-verify')
  .description(
    'Verify a signed Earshot attendance period export offline: every Ed25519 signature, every ' +
      'payload hash, and that the session receipts are exactly those the period snapshot signed.',
  )
  .argument('<export.json>', 'a period export downloaded from Earshot')
  .option(
    '--key-id <id>',
    'trust only this key id (repeatable); compare with the one your server publishes',
    (id: string, ids: string[] = []) => [...ids, id],
  )
  .addOption(
    new Option('--engine <engine>', 'Ed25519 implementation').choices(['node', 'noble']).default('node'),
  )
  .option('--json', 'print the report as JSON on stdout')
  .option('--no-progress', 'never show a progress bar')
  .addHelpText(
    'after',
    `
Exit status: ${EXIT_VALID} valid, ${EXIT_INVALID} invalid (with the reason), ${EXIT_UNREADABLE} unreadable input.
The export carries its own public key: it proves the records were not altered since
signing. To know who signed them, compare the key id printed here with the one your
server publishes, or pass it with --key-id.`,
  )
  .exitOverride()
  .action(async (file: string, options: CliOptions) => {
    process.exitCode = await run(file, options);
  });

async function run(file: string, options: CliOptions): Promise<number> {
  let doc: unknown;
  try {
    doc = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    const why = error instanceof SyntaxError ? 'not valid JSON' : (error as Error).message;
    return unreadable(options, `cannot read ${file}: ${why}`);
  }
  const records = countRecords(doc);
  const bar =
    options.progress && !options.json && process.stderr.isTTY && records > PROGRESS_BAR_MIN_RECORDS
      ? new cliProgress.SingleBar(
          { format: 'verifying [{bar}] {percentage}% | {value}/{total} records | ETA {eta}s' },
          cliProgress.Presets.shades_classic,
        )
      : undefined;
  bar?.start(records, 0);
  const report = await verifyExport(doc, {
    engine: options.engine,
    trustedKeyIds: options.keyId,
    onProgress: bar && ((done) => bar.update(done)),
  });
  bar?.stop();
  if (!report.recognized) return unreadable(options, report.firstFailure?.message ?? 'not an export');
  if (options.json) console.log(JSON.stringify(report, null, 2));
  else print(report);
  return report.valid ? EXIT_VALID : EXIT_INVALID;
}

function countRecords(doc: unknown): number {
  const sessions = (doc as { sessions?: unknown } | null)?.sessions;
  return Array.isArray(sessions) ? sessions.length + 1 : 1;
}

function unreadable(options: CliOptions, message: string): number {
  if (options.json) console.log(JSON.stringify({ valid: false, unreadable: true, message }, null, 2));
  else console.error(`UNREADABLE: ${message}`);
  return EXIT_UNREADABLE;
}

function print(report: ExportVerification): void {
  const { counts } = report;
  const period = `guild ${report.guildId ?? '?'}, period ${report.periodIndex ?? '?'}`;
  const checked = `${counts.recordsValid} of ${counts.recordsChecked} records valid (1 snapshot, ${counts.sessions} session receipts)`;
  if (report.valid) {
    console.log(`VALID: ${period}: ${checked}; the receipts are exactly the set the snapshot signed.`);
    console.log(`Signed by key id(s): ${report.signedByKeyIds.join(', ')}`);
    return;
  }
  const failure = report.firstFailure!;
  console.error(`INVALID: ${period}: ${failure.where}: ${failure.reason}: ${failure.message}`);
  console.error(`${checked}.`);
}

program.parseAsync().catch((error: unknown) => {
  if (error instanceof CommanderError) {
    // --help and --version exit 0; a usage error means the input could not be taken.
    process.exitCode = error.exitCode === 0 ? EXIT_VALID : EXIT_UNREADABLE;
    return;
  }
  console.error(error);
  process.exitCode = EXIT_UNREADABLE;
});
