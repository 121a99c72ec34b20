/**
 * axe-core in a console page (evaluated through the DevTools protocol, which the page's
 * Content-Security-Policy does not govern): the serious and critical WCAG 2.x A/AA violations,
 * one line each, so a test can expect none.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';

const TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'];
let source: Promise<string> | undefined;

type Violation = { id: string; impact: string; help: string; nodes: { target: string[] }[] };

export async function seriousAxeViolations(page: Page): Promise<string[]> {
  source ??= readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(await source);
  const violations = (await page.evaluate(
    async (tags) =>
      (
        await (
          window as unknown as { axe: { run(d: Document, o: unknown): Promise<{ violations: unknown[] }> } }
        ).axe.run(document, { runOnly: { type: 'tag', values: tags } })
      ).violations,
    TAGS,
  )) as Violation[];
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `[${v.impact}] ${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
}
