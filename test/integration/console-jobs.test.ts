/**
 * The console's jobs & upload queue page in headless Chromium against the real controller:
 * the state filter kept in the URL, a failed job retried from its row (the CSRF token sent;
 * the server re-queues it) whose row then follows the agent's claim live from the events
 * stream, bulk retry with a result per job (one refused with the server's reason) and bulk
 * stop, and a failed copy in the upload queue retried. No CSP violation.
 * Seeded through the real API (the agent's own routes for claims and failures); every wait is
 * for something the page shows.
 */
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtConsole, launchChromium, signedInPage } from '../support/console.js';
import { seriousAxeViolations } from '../support/console-axe.js';
import {
  bearer,
  enrolledNode,
  ownerApiToken,
  type TestController,
  testController,
  userWithRole,
} from '../support/controller.js';
import { listeningUrl } from '../support/listen.js';
import { claimNext, completedRecording, createRecording, wavBytes } from '../support/recordings.js';
import { type TempDir, tempDir } from '../support/tmp.js';

type Node = { nodeId: string; credential: string; siteId: string };

describe('console: jobs & upload queue', () => {
  let ctl: TestController;
  let url: string;
  let browser: Browser;
  let page: Page;
  let cspViolations: string[];
  let token: string;
  let node: Node;
  let dir: TempDir;
  const failedJobs: string[] = [];
  let completedJob: string;
  let copyId: string;

  const call = async (method: 'GET' | 'POST', path: string, payload?: object) => {
    const response = await ctl.app.inject({
      method,
      url: `/api/v1${path}`,
      headers: bearer(token),
      ...(payload ? { payload } : {}),
    });
    expect(response.statusCode, response.body).toBeLessThan(300);
    return response.json().data;
  };

  /** A job its agent claimed and reported failed before recording anything. */
  async function failedJob(): Promise<string> {
    const recording = await createRecording(ctl, token, node.nodeId, { durationSeconds: 5 });
    for (;;) {
      const { lease } = await claimNext(ctl, node.nodeId, node.credential);
      if (!lease) throw new Error('no job to claim');
      if (lease.recordingId !== recording.id) continue;
      const reported = await ctl.app.inject({
        method: 'POST',
        url: `/api/v1/recording-jobs/${lease.jobId}/failed`,
        headers: bearer(node.credential),
        payload: { epoch: lease.epoch, reason: 'capture device busy' },
      });
      expect(reported.statusCode, reported.body).toBe(200);
      return lease.jobId;
    }
  }

  beforeAll(async () => {
    const consoleDir = await builtConsole();
    ctl = await testController({ leaseSeconds: 30 }, undefined, { consoleDir });
    token = await ownerApiToken(ctl);
    node = await enrolledNode(ctl, { id: 'jobs-node', site: 'jobs-site', name: 'Hall J' });
    const { id: recordingId } = await completedRecording(ctl, token, node, wavBytes(8000, 8000, 1));
    completedJob = ((await call('GET', '/recording-jobs?state=completed')) as { id: string }[])[0]!.id;
    failedJobs.push(await failedJob(), await failedJob());
    // A copy that cannot succeed: the provider's root is a file, and one attempt is allowed.
    dir = await tempDir('console-jobs');
    const root = join(dir.path, 'not-a-directory');
    await writeFile(root, 'x');
    const provider = (
      (await call('POST', '/settings/upload-providers', {
        name: 'broken disk',
        body: { kind: 'filesystem', root },
      })) as { id: string }
    ).id;
    copyId = (
      (await call('POST', `/recordings/${recordingId}/upload-queue`, {
        providerId: provider,
        maxAttempts: 1,
      })) as {
        id: string;
      }
    ).id;
    await call('POST', '/upload-runner/run');
    expect(await call('GET', `/upload-queue/${copyId}`)).toMatchObject({ state: 'failed' });

    url = await listeningUrl(ctl);
    browser = await launchChromium();
    ({ page, cspViolations } = await signedInPage(browser, url, '/jobs?state=failed'));
    page.setDefaultTimeout(10_000);
  });
  afterAll(async () => {
    await browser?.close();
    await ctl?.stop();
    await dir?.cleanup();
  });

  const row = (jobId: string) => page.locator(`tr[data-job-id="${jobId}"]`);

  it('lists jobs by state, the filter in the URL', async () => {
    await row(failedJobs[0]!).waitFor();
    expect(await page.locator('tr[data-job-id]').count()).toBe(2);
    await row(failedJobs[0]!).getByText('capture device busy').waitFor();
    await page.getByRole('combobox', { name: /^State/ }).selectOption('completed');
    await page.waitForURL(/state=completed/);
    await row(completedJob).waitFor();
    expect(await page.locator('tr[data-job-id]').count()).toBe(1);
    await page.goBack();
    await row(failedJobs[1]!).waitFor();
  });

  it('retries a failed job from its row, and the row follows the agent’s claim live', async () => {
    await page.goto(`${url}/jobs`);
    const first = row(failedJobs[0]!);
    await first.getByRole('button', { name: 'Retry' }).click();
    await first.getByText('retried').waitFor();
    await first.locator('.job-state', { hasText: 'queued' }).waitFor();
    expect(await call('GET', `/recording-jobs/${failedJobs[0]}`)).toMatchObject({
      state: 'queued',
      failureReason: null,
    });

    // The agent takes it: the row changes from the events stream, no reload.
    const { lease } = await claimNext(ctl, node.nodeId, node.credential);
    expect(lease?.jobId).toBe(failedJobs[0]);
    await first.locator('.job-state', { hasText: 'claimed' }).waitFor();
    await first.getByRole('button', { name: 'Stop' }).waitFor();
  });

  it('retries in bulk with a result per job, then stops in bulk', async () => {
    await page.goto(`${url}/jobs`);
    await row(failedJobs[1]!).getByRole('checkbox').check();
    await row(completedJob).getByRole('checkbox').check();
    await page.getByRole('button', { name: 'Retry selected' }).click();
    await row(failedJobs[1]!).getByText('retried').waitFor();
    await row(completedJob).getByRole('alert').waitFor();
    expect(await row(completedJob).getByRole('alert').textContent()).toMatch(/cannot be retried/);
    expect(await call('GET', `/recording-jobs/${failedJobs[1]}`)).toMatchObject({ state: 'queued' });
    expect(await call('GET', `/recording-jobs/${completedJob}`)).toMatchObject({ state: 'completed' });

    await row(failedJobs[1]!).getByRole('checkbox').check();
    await page.getByRole('button', { name: 'Stop selected' }).click();
    await row(failedJobs[1]!).getByText('stop asked', { exact: true }).waitFor();
    await row(failedJobs[1]!).locator('.job-state', { hasText: 'cancelled' }).waitFor();
    expect(await call('GET', `/recording-jobs/${failedJobs[1]}`)).toMatchObject({ state: 'cancelled' });
  });

  it('shows the upload queue with its failed copy, and retries it', async () => {
    await page.goto(`${url}/jobs?queue=failed`);
    const copy = page.locator(`tr[data-queue-id="${copyId}"]`);
    await copy.waitFor();
    await copy.getByText('1 / 1').waitFor();
    await copy.getByRole('button', { name: 'Retry copy' }).click();
    // Read again with the filter: the copy left the failed state.
    await page.getByText('No copies in the upload queue.').waitFor();
    expect(await call('GET', `/upload-queue/${copyId}`)).toMatchObject({ state: 'queued' });
  });

  it('has no serious or critical axe violation with jobs and copies listed', async () => {
    await page.goto(`${url}/jobs`);
    await row(completedJob).waitFor();
    await page.locator('tr[data-queue-id]').first().waitFor();
    expect(await seriousAxeViolations(page)).toEqual([]);
  });

  it('shows a viewer the jobs and the queue without the actions its role lacks', async () => {
    await userWithRole(ctl, 'jobs-viewer', 'viewer');
    const viewer = await signedInPage(browser, url, '/jobs', {
      username: 'jobs-viewer',
      password: 'jobs-viewer-password-123',
    });
    await viewer.page.locator(`tr[data-job-id="${completedJob}"]`).waitFor();
    await viewer.page.locator('tr[data-queue-id]').first().waitFor();
    expect(await viewer.page.getByRole('button', { name: /Retry|Stop/ }).count()).toBe(0);
    expect(await viewer.page.getByRole('checkbox').count()).toBe(0);
    await viewer.page.goto(`${url}/schedules`);
    await viewer.page.getByRole('heading', { name: 'Schedules', level: 1 }).waitFor();
    await viewer.page.locator('.sched-table, .empty').first().waitFor();
    expect(await viewer.page.getByRole('button', { name: 'New schedule' }).count()).toBe(0);
    expect(viewer.cspViolations).toEqual([]);
    await viewer.page.context().close();
  });

  it('shows a hundred jobs at a time, more on request', async () => {
    // 101 queued jobs seeded in one transaction (the API creates one at a time: ~5 s here),
    // rows as POST /recordings writes them; the page reads them through the API.
    const recordings = Array.from({ length: 101 }, (_, i) => ({
      id: randomUUID(),
      nodeId: node.nodeId,
      title: `Hall J queued ${i}`,
      state: 'pending',
      sampleRate: 48_000,
      channels: 2,
    }));
    await ctl.db.$transaction([
      ctl.db.recording.createMany({ data: recordings }),
      ctl.db.recordingJob.createMany({
        data: recordings.map((r) => ({
          nodeId: r.nodeId,
          recordingId: r.id,
          state: 'queued',
          durationSeconds: 5,
        })),
      }),
    ]);
    await page.goto(`${url}/jobs?state=queued`);
    const more = page.getByRole('link', { name: 'Show 100 more jobs' });
    await more.waitFor();
    expect(await page.locator('tr[data-job-id]').count()).toBe(100);
    await more.click();
    await more.waitFor({ state: 'detached' });
    expect(await page.locator('tr[data-job-id]').count()).toBe(101);
    // How far the operator went is in the URL: a reload shows as many again.
    expect(new URL(page.url()).searchParams.get('shown')).toBe('200');
    await page.reload();
    await expect.poll(() => page.locator('tr[data-job-id]').count()).toBe(101);
  });

  it('violates no Content-Security-Policy', () => {
    expect(cspViolations).toEqual([]);
  });
});
