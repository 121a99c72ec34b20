/**
 * Every `POST …/export` takes up to 1,000 ids (the shared body schema): a selection that large
 * is answered, never a 5xx (SQLite's driver caps one statement at 999 parameters, so the reads
 * go in chunks).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { bearer, type TestController, testController } from '../support/controller.js';

describe(`exports of a 1,000-id selection (${inject('testDb')})`, () => {
  let ctl: TestController;
  let owner: string;

  beforeAll(async () => {
    ctl = await testController();
    owner = await ctl.ownerToken();
  });
  afterAll(async () => ctl?.stop());

  it('every POST …/export answers 1,000 ids it does not know with an empty file, not an error', async () => {
    const exports = ctl.routes.filter((r) => r.method === 'POST' && r.url.endsWith('/export'));
    expect(exports.length).toBeGreaterThan(5);
    const ids = Array.from({ length: 1000 }, () => randomUUID());
    const failures: string[] = [];
    for (const route of exports) {
      const url = route.url.replace(':guildId', '100000000000000001');
      const answer = await ctl.app.inject({
        method: 'POST',
        url,
        headers: bearer(owner),
        payload: { ids, format: 'ndjson' },
      });
      if (answer.statusCode >= 500 || (answer.statusCode !== 200 && answer.statusCode !== 400))
        failures.push(`${route.url}: ${answer.statusCode} ${answer.body.slice(0, 160)}`);
    }
    expect(failures).toEqual([]);
  });
});
