/** Benchmark results: printed as a table and written as JSON under .bench/ (git-ignored). */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface BenchRow {
  bench: string;
  subject: string;
  metric: string;
  value: number;
  unit: string;
  /** The reference measured in the same run, and subject / reference. */
  reference?: { subject: string; value: number; ratio: number };
}

export function printTable(rows: BenchRow[]): void {
  const lines = rows.map((r) => [
    r.bench,
    r.subject,
    r.metric,
    `${formatNumber(r.value)} ${r.unit}`,
    r.reference ? `${r.reference.subject}: ${formatNumber(r.reference.value)} ${r.unit}` : '',
    r.reference ? `${r.reference.ratio.toFixed(2)}×` : '',
  ]);
  const header = ['bench', 'subject', 'metric', 'value', 'reference (same run)', 'ratio'];
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ');
  console.log(fmt(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('-|-'));
  for (const line of lines) console.log(fmt(line));
}

export function writeJson(rows: BenchRow[], dir = '.bench'): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(
    file,
    `${JSON.stringify({ at: new Date().toISOString(), node: process.version, rows }, null, 2)}\n`,
  );
  writeFileSync(
    join(dir, 'latest.json'),
    `${JSON.stringify({ at: new Date().toISOString(), node: process.version, rows }, null, 2)}\n`,
  );
  return file;
}

function formatNumber(value: number): string {
  if (Math.abs(value) >= 1000) return Math.round(value).toLocaleString('en');
  return value.toFixed(2);
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
