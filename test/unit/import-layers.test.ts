/**
 * The layers, enforced: walks every import in controller/src, agent/src and shared/src and
 * fails on one that points the wrong way, naming the file, the import and the rule
 * (docs/architecture.md explains the layers).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');

interface ImportEdge {
  /** Importing file, relative to the repository root. */
  from: string;
  /** The specifier as written. */
  spec: string;
  /** The imported file relative to the root (relative specifiers), or the package name. */
  to: string;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'generated' ? [] : sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

const IMPORT =
  /(?:^|\n)\s*(?:import|export)\b[^'"`;]*?from\s*['"]([^'"]+)['"]|\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g;

/** Every import of the files under `dirs`. */
function importsOf(files: string[]): ImportEdge[] {
  return files.flatMap((from) => {
    const source = readFileSync(join(ROOT, from), 'utf8');
    return [...source.matchAll(IMPORT)].map((m) => {
      const spec = (m[1] ?? m[2])!;
      const to = spec.startsWith('.')
        ? relative(ROOT, resolve(ROOT, dirname(from), spec)).replace(/\.js$/, '.ts')
        : spec;
      return { from, spec, to };
    });
  });
}

interface Rule {
  name: string;
  /** The edge breaks the rule. */
  broken: (edge: ImportEdge) => boolean;
}

const C = 'controller/src/';
const isFastify = (to: string) => to === 'fastify' || to.startsWith('@fastify/');
const moduleOf = (path: string) => /^controller\/src\/modules\/([^/]+)\//.exec(path)?.[1];
const isService = (path: string) => /\.(service|repository)\.ts$/.test(path);

const RULES: Rule[] = [
  {
    name: 'core/ imports nothing above it (only core/, shared/ and the db types)',
    broken: ({ from, to }) =>
      from.startsWith(`${C}core/`) &&
      to.includes('/') &&
      !to.startsWith(`${C}core/`) &&
      !to.startsWith('shared/src/') &&
      to !== `${C}db/client.ts`,
  },
  {
    name: 'core/ knows nothing of Fastify',
    broken: ({ from, to }) => from.startsWith(`${C}core/`) && isFastify(to),
  },
  {
    name: 'services and repositories never import Fastify',
    broken: ({ from, to }) => isService(from) && isFastify(to),
  },
  {
    name: 'services and repositories never import the broker or the HTTP plugins',
    broken: ({ from, to }) => isService(from) && (to.startsWith(`${C}broker/`) || to.startsWith(`${C}http/`)),
  },
  {
    name: "modules reach each other only through the other module's index.ts",
    broken: ({ from, to }) => {
      const a = moduleOf(from);
      const b = moduleOf(to);
      return a !== undefined && b !== undefined && a !== b && to !== `${C}modules/${b}/index.ts`;
    },
  },
  {
    name: 'outside a module, only its index.ts is imported (app.ts wires modules through their doors)',
    broken: ({ from, to }) => {
      const b = moduleOf(to);
      return (
        from.startsWith(C) &&
        moduleOf(from) === undefined &&
        b !== undefined &&
        to !== `${C}modules/${b}/index.ts`
      );
    },
  },
  {
    name: 'generated Prisma clients are imported by db/ only (row types come from db/rows.ts)',
    broken: ({ from, to }) => to.includes('/generated/') && !from.startsWith(`${C}db/`),
  },
  {
    name: 'the agent and the controller never import each other (they share shared/src only)',
    broken: ({ from, to }) =>
      (from.startsWith('agent/') && to.startsWith('controller/')) ||
      (from.startsWith('controller/') && to.startsWith('agent/')),
  },
  {
    name: 'shared/src imports neither program',
    broken: ({ from, to }) =>
      from.startsWith('shared/') && (to.startsWith('controller/') || to.startsWith('agent/')),
  },
];

function violations(edges: ImportEdge[], rules: Rule[] = RULES): string[] {
  return edges.flatMap((edge) =>
    rules.filter((r) => r.broken(edge)).map((r) => `${edge.from}: import '${edge.spec}' — ${r.name}`),
  );
}

describe('import layers', () => {
  const files = ['controller/src', 'agent/src', 'shared/src'].flatMap(sourceFiles);
  const edges = importsOf(files);

  it('reads the imports of every source file', () => {
    expect(files.length).toBeGreaterThan(100);
    expect(edges.length).toBeGreaterThan(500);
  });

  it('no import points the wrong way', () => {
    expect(violations(edges)).toEqual([]);
  });

  it('names the file and the rule when a service imports Fastify', () => {
    const planted: ImportEdge = {
      from: `${C}modules/nodes/nodes.service.ts`,
      spec: 'fastify',
      to: 'fastify',
    };
    expect(violations([planted])).toEqual([
      `${C}modules/nodes/nodes.service.ts: import 'fastify' — services and repositories never import Fastify`,
    ]);
  });

  it('catches a module reaching into another module', () => {
    const planted: ImportEdge = {
      from: `${C}modules/recordings/recordings.service.ts`,
      spec: '../nodes/nodes.service.js',
      to: `${C}modules/nodes/nodes.service.ts`,
    };
    expect(violations([planted])).toHaveLength(1);
    expect(violations([{ ...planted, to: `${C}modules/nodes/index.ts` }])).toEqual([]);
  });
});
