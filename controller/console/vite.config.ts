/**
 * The operator console's build: Preact with signals, plain CSS, compiled by Vite's own
 * transformer (no preset plugin) into `dist/console/`, which the controller serves at `/`
 * (controller/src/modules/console/). Hashed file names under `assets/` are cached for a year;
 * `index.html` never is.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { defineConfig, type Plugin } from 'vite';

const here = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root: here,
  base: '/',
  publicDir: false,
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  plugins: [
    {
      // The entry script blocks rendering until it has run, so the theme it applies (theme.ts,
      // `data-theme` on <html>) is there before the first frame: no flash of the other theme,
      // and no inline script (the Content-Security-Policy forbids one).
      name: 'earshot-render-blocking-entry',
      transformIndexHtml: {
        order: 'post',
        handler: (html) =>
          html.replace(/<script type="module"(?![^>]*blocking)/g, '<script type="module" blocking="render"'),
      },
    },
    precompressed(),
  ],
  build: {
    outDir: fileURLToPath(new URL('../../dist/console', import.meta.url)),
    emptyOutDir: true,
    assetsDir: 'assets',
    target: 'es2022',
    // No inline scripts or data: URLs: the Content-Security-Policy allows only 'self'.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    reportCompressedSize: true,
  },
  // `ws`: the Listen page's WebSocket (/api/v1/nodes/:id/listen/stream) goes through too.
  server: { proxy: { '/api': { target: 'http://localhost:8080', ws: true } } },
});

/**
 * Writes each built script, style sheet and image beside itself compressed, as `.br` (brotli at
 * its best) and `.gz`: the controller serves those to browsers that accept them
 * (`preCompressed`, controller/src/modules/console/console.routes.ts), compressed once here
 * instead of on every request.
 */
function precompressed(): Plugin {
  return {
    name: 'earshot-precompressed-assets',
    apply: 'build',
    async writeBundle(output, bundle) {
      const dir = output.dir;
      if (!dir) return;
      const files = Object.keys(bundle).filter((name) => /^assets\/.*\.(?:js|css|svg)$/.test(name));
      for (const name of files) {
        const content = await readFile(join(dir, name));
        const brotli = { params: { [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY } };
        await writeFile(join(dir, `${name}.br`), brotliCompressSync(content, brotli));
        await writeFile(join(dir, `${name}.gz`), gzipSync(content, { level: 9 }));
      }
    },
  };
}
