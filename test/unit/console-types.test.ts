/**
 * The operator console type-checks under its own settings (controller/console/tsconfig.json:
 * DOM, JSX for Preact). Vite compiles without checking types and the root tsconfig does not
 * include the console, so this is where `npm test` (and CI) sees a type error in it.
 */
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const CONFIG = fileURLToPath(new URL('../../controller/console/tsconfig.json', import.meta.url));

describe('operator console types', () => {
  it('has no type errors', () => {
    const read = ts.readConfigFile(CONFIG, ts.sys.readFile);
    expect(read.error).toBeUndefined();
    const parsed = ts.parseJsonConfigFileContent(
      read.config,
      ts.sys,
      fileURLToPath(new URL('.', `file://${CONFIG}`)),
    );
    expect(parsed.errors).toEqual([]);
    expect(parsed.fileNames.length).toBeGreaterThan(5);
    const program = ts.createProgram(parsed.fileNames, { ...parsed.options, noEmit: true });
    const diagnostics = ts.getPreEmitDiagnostics(program).map((d) => {
      const where = d.file
        ? `${d.file.fileName}:${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1}`
        : '';
      return `${where} ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
    });
    expect(diagnostics).toEqual([]);
  }, 60_000);
});
