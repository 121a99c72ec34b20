/**
 * The shape the architecture promises (docs/architecture.md): a short composition root, no
 * long functions outside route tables, and modules arranged in sub-feature folders.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const SRC = join(ROOT, 'controller/src');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (name === 'generated') return [];
    return statSync(path).isDirectory() ? files(path) : name.endsWith('.ts') ? [path] : [];
  });
}

/** Functions longer than `max` lines, as `file:line name (lines)`. */
function longFunctions(path: string, max: number): string[] {
  const source = ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const first = source.getLineAndCharacterOfPosition(node.getStart()).line;
      const last = source.getLineAndCharacterOfPosition(node.getEnd()).line;
      if (last - first + 1 > max)
        found.push(`${relative(ROOT, path)}:${first + 1} (${last - first + 1} lines)`);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

describe('code shape', () => {
  it('app.ts, the composition root, stays under 150 lines', () => {
    expect(readFileSync(join(SRC, 'app.ts'), 'utf8').split('\n').length).toBeLessThan(150);
  });

  it('no function in controller/src is over 80 lines, except route tables', () => {
    const long = files(SRC)
      .filter((f) => !f.endsWith('.routes.ts'))
      .flatMap((f) => longFunctions(f, 80));
    expect(long).toEqual([]);
  });

  it('catches a long function, and lets a short one pass', () => {
    const dir = mkdtempSync(join(tmpdir(), 'code-shape-'));
    const lines = (n: number) => Array.from({ length: n }, (_, i) => `  const x${i} = ${i};`).join('\n');
    writeFileSync(join(dir, 'long.ts'), `export function long() {\n${lines(85)}\n}\n`);
    writeFileSync(join(dir, 'short.ts'), `export const short = () => {\n${lines(10)}\n};\n`);
    try {
      expect(longFunctions(join(dir, 'long.ts'), 80)).toHaveLength(1);
      expect(longFunctions(join(dir, 'short.ts'), 80)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('every module is entered through its index.ts; attendance has only index.ts at its top', () => {
    const modules = readdirSync(join(SRC, 'modules')).filter((m) =>
      statSync(join(SRC, 'modules', m)).isDirectory(),
    );
    for (const module of modules)
      expect(readdirSync(join(SRC, 'modules', module)), module).toContain('index.ts');
    const attendanceTop = readdirSync(join(SRC, 'modules/attendance')).filter((f) => f.endsWith('.ts'));
    expect(attendanceTop).toEqual(['index.ts']);
  });
});
