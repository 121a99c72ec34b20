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
} from '../support/controller.js';
import { listeningUrl } from '../support/listen.js';

const DAY_MS = 86_400_000;

/** The first Monday at least two days after `ms` (YYYY-MM-DD): inside the next 14 days. */
function comingMonday(ms: number): string {
  let day = new Date(ms + 2 * DAY_MS);
  while (day.getUTCDay() !== 1) day = new Date(day.getTime() + DAY_MS);
  return day.toISOString().slice(0, 10);
}

describe('console: schedules', () => {
  let ctl: TestController;
  let url: string;
  let browser: Browser;
  let page: Page;
  let cspViolations: string[];
  let nowMs = Date.now();
  let nodeId: string;
  const monday = comingMonday(Date.now());
  let missedStart: string;
  /** An API token: the clock moves past a login session's idle timeout. */
  let token: string;

  const api = async (method: 'GET' | 'POST', path: string, payload?: object) => {
    const response = await ctl.app.inject({
      method,
      url: `/api/v1${path}`,
      headers: bearer(token),
      ...(payload ? { payload } : {}),
    });
    expect(response.statusCode, response.body).toBeLessThan(300);
    return response.json().data;
  };

  beforeAll(async () => {
    const consoleDir = await builtConsole();
    ctl = await testController({}, () => new Date(nowMs), { consoleDir });
    token = await ownerApiToken(ctl);
    ({ nodeId } = await enrolledNode(ctl, { id: 'sched-node', site: 'sched-site', name: 'Hall A' }));
    // A one-off occurrence in an hour that the node never takes: the clock then passes its
    // window and the controller marks it missed (raising `occurrence_missed`).
    missedStart = new Date(Math.ceil((nowMs + 3600_000) / 60_000) * 60_000).toISOString().slice(0, 16);
    await api('POST', '/schedules', {
      name: 'Night check',
      timeZone: 'UTC',
      start: missedStart,
      durationSeconds: 600,
      targets: [{ nodeId }],
    });
    nowMs += 2 * 3600_000;
    expect(await ctl.services.occurrences.markMissed()).toBe(1);
    url = await listeningUrl(ctl);
    browser = await launchChromium();
    ({ page, cspViolations } = await signedInPage(browser, url, '/schedules'));
    page.setDefaultTimeout(10_000);
    await page.getByRole('heading', { name: 'Schedules', level: 1 }).waitFor();
  });
  afterAll(async () => {
    await browser?.close();
    await ctl?.stop();
  });

  it('opens the form in a dialog that Esc closes, returning focus to the button', async () => {
    const open = page.getByRole('button', { name: 'New schedule' });
    await open.click();
    const dialog = page.getByRole('dialog', { name: 'New schedule' });
    await dialog.waitFor();
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('New schedule');
  });

  it('creates a weekly schedule through the form: the API stores its RRULE, zone and start', async () => {
    await page.getByRole('button', { name: 'New schedule' }).click();
    const dialog = page.getByRole('dialog', { name: 'New schedule' });
    await dialog.getByLabel('Name', { exact: true }).fill('Morning mass');
    await dialog.getByRole('checkbox', { name: /Hall A/ }).check();
    await dialog.getByLabel('Start (local time)').fill(`${monday}T09:00`);
    await dialog.getByLabel('Time zone').selectOption('Europe/Berlin');
    await dialog.getByLabel('Duration (minutes)').fill('60');
    await dialog.getByLabel('Frequency').selectOption('WEEKLY');
    await dialog.getByRole('checkbox', { name: 'Mon', exact: true }).check();
    await dialog.getByRole('checkbox', { name: 'Wed', exact: true }).check();
    await dialog.getByLabel('Ends').selectOption('count');
    await dialog.getByRole('spinbutton', { name: 'Times' }).fill('10');
    await dialog.getByText('RRULE:FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10').waitFor();
    await dialog.getByRole('button', { name: 'Create schedule' }).click();
    await dialog.waitFor({ state: 'detached' });
    await page.getByRole('status').filter({ hasText: 'Saved “Morning mass”.' }).waitFor();
    const row = page.locator('.sched-table tr', { hasText: 'Morning mass' });
    await row.getByText('Every week on Mon, Wed, 10 times').waitFor();

    const list = (await api('GET', '/schedules?q=Morning')) as {
      recurrence: string;
      timeZone: string;
      start: string;
      durationSeconds: number;
      targets: { nodeId: string }[];
    }[];
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({
      recurrence: 'RRULE:FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10',
      timeZone: 'Europe/Berlin',
      durationSeconds: 3600,
      targets: [{ nodeId }],
    });
    expect(list[0]!.start).toMatch(new RegExp(`^${monday}T09:00`));
  });

  it('draws the week of its first occurrence: Monday and Wednesday at 09:00 Berlin time', async () => {
    await page.goto(`${url}/schedules?view=week&date=${monday}&tz=Europe%2FBerlin`);
    const week = page.getByRole('region', { name: /^Week of/ });
    await week.waitFor();
    const blocks = week.locator('.occ', { hasText: 'Morning mass' });
    await blocks.first().waitFor();
    expect(await blocks.count()).toBe(2);
    expect(await blocks.allTextContents()).toEqual([
      expect.stringContaining('09:00 Morning mass'),
      expect.stringContaining('09:00 Morning mass'),
    ]);
    // The same week in New York: 03:00 local (04:00 in the weeks when only one side of the
    // Atlantic has changed its clocks).
    const clock = (timeZone: string, at: Date) =>
      new Intl.DateTimeFormat('en-GB', {
        timeZone,
        hour: '2-digit',
        minute: '2-digit',
        hourCycle: 'h23',
      }).format(at);
    // Monday 09:00 in Berlin is 08:00 UTC in winter, 07:00 in summer.
    const nine = [8, 7]
      .map((h) => new Date(`${monday}T0${h}:00:00Z`))
      .find((at) => clock('Europe/Berlin', at) === '09:00')!;
    const newYork = clock('America/New_York', nine);
    await page.getByLabel('Time zone').selectOption('America/New_York');
    await week
      .locator('.occ', { hasText: `${newYork} Morning mass` })
      .first()
      .waitFor();
    expect(page.url()).toContain('tz=America%2FNew_York');
  });

  it('shows the month, and a day’s 24-hour agenda from it, the zone kept', async () => {
    await page.goto(`${url}/schedules?view=month&date=${monday}&tz=Europe%2FBerlin`);
    const month = page.locator('table.cal-month');
    await month.locator('.occ', { hasText: '09:00 Morning mass' }).first().waitFor();
    expect(await month.getByRole('link', { name: /the day's agenda/ }).count()).toBeGreaterThanOrEqual(28);
    await page.locator(`a.cal-date[href*="date=${monday}"]`).click();
    await page.waitForURL(/view=day/);
    expect(page.url()).toContain('tz=Europe%2FBerlin');
    const agenda = page.locator('.agenda-list');
    await agenda.getByText('09:00', { exact: false }).first().waitFor();
    expect(await agenda.textContent()).toContain('Morning mass');
    expect(await agenda.textContent()).toContain('until 10:00 on sched-node');
  });

  it('warns of an overlap when a clashing schedule on the same node is saved', async () => {
    await page.goto(`${url}/schedules`);
    await page.getByRole('button', { name: 'New schedule' }).click();
    const dialog = page.getByRole('dialog', { name: 'New schedule' });
    await dialog.getByLabel('Name', { exact: true }).fill('Choir rehearsal');
    await dialog.getByRole('checkbox', { name: /Hall A/ }).check();
    await dialog.getByLabel('Start (local time)').fill(`${monday}T09:30`);
    await dialog.getByLabel('Time zone').selectOption('Europe/Berlin');
    await dialog.getByLabel('Frequency').selectOption('ONCE');
    await dialog.getByRole('button', { name: 'Create schedule' }).click();
    const warning = page.getByRole('alert', { name: 'Overlap warnings' });
    await warning.waitFor();
    expect(await warning.textContent()).toContain(
      '“Morning mass” and “Choir rehearsal” overlap on sched-node',
    );
    // Editing the first shows the clash before any change.
    await page.getByRole('button', { name: 'Edit Morning mass' }).click();
    const edit = page.getByRole('dialog', { name: 'Edit Morning mass' });
    await edit
      .getByRole('list', { name: 'Current overlaps' })
      .getByText(/Choir rehearsal/)
      .waitFor();
    await page.keyboard.press('Escape');
    await edit.waitFor({ state: 'detached' });
    // The week view marks both.
    await page.goto(`${url}/schedules?view=week&date=${monday}&tz=Europe%2FBerlin`);
    const clashing = page.locator('.occ-clash');
    await clashing.first().waitFor();
    expect(await clashing.allTextContents()).toEqual([
      expect.stringContaining('Morning mass'),
      expect.stringContaining('Choir rehearsal'),
    ]);
  });

  it('says why a missed occurrence did not record, with its health event and links', async () => {
    await page.goto(`${url}/schedules?view=day&date=${missedStart.slice(0, 10)}&tz=UTC`);
    const block = page.locator('.occ-missed', { hasText: 'Night check' }).first();
    await block.getByRole('button', { name: 'Why did this not record?' }).click();
    const dialog = page.getByRole('dialog', { name: 'Why did this not record?' });
    await dialog.getByText('the node did not take this occurrence before its window ended').waitFor();
    await dialog.getByText(/open: a scheduled occurrence planned for .* was not recorded/).waitFor();
    expect(await dialog.getByRole('link', { name: 'Health events of sched-node' }).getAttribute('href')).toBe(
      '/health?nodeId=sched-node&type=occurrence_missed',
    );
    // The link opens the health events of that node and type.
    await dialog.getByRole('link', { name: 'Health events of sched-node' }).click();
    await page.getByRole('heading', { name: 'Health events', level: 1 }).waitFor();
    expect(new URL(page.url()).search).toBe('?nodeId=sched-node&type=occurrence_missed');
    await page
      .getByText(/a scheduled occurrence planned for .* was not recorded/)
      .first()
      .waitFor();
  });

  it('keeps the list filters in the URL', async () => {
    await page.goto(`${url}/schedules`);
    await page.getByLabel('Name', { exact: true }).fill('Choir');
    await page.getByLabel('Name', { exact: true }).press('Enter');
    await page.waitForURL(/q=Choir/);
    // The filtered list has come back once the other schedule's row is gone (the URL changes
    // first, the rows when the API answers).
    await page.locator('.sched-table tr', { hasText: 'Morning mass' }).waitFor({ state: 'detached' });
    await page.locator('.sched-table tr', { hasText: 'Choir rehearsal' }).waitFor();
    expect(await page.locator('.sched-table tbody tr').count()).toBe(1);
    await page.goBack();
    await page.locator('.sched-table tr', { hasText: 'Morning mass' }).waitFor();
  });

  it('skips the next occurrence, and deletes a schedule after asking', async () => {
    await page.goto(`${url}/schedules`);
    await page.getByRole('button', { name: 'Skip the next occurrence of Choir rehearsal' }).click();
    // Once skipped, a one-off schedule has no next occurrence: the button goes.
    await page
      .getByRole('button', { name: 'Skip the next occurrence of Choir rehearsal' })
      .waitFor({ state: 'detached' });
    const [choir] = (await api('GET', '/schedules?q=Choir')) as { id: string; skipped: string[] }[];
    expect(choir!.skipped).toHaveLength(1);

    await page.getByRole('button', { name: 'Delete Choir rehearsal' }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete: Choir rehearsal?' });
    await dialog.getByRole('button', { name: 'Delete' }).click();
    await dialog.waitFor({ state: 'detached' });
    await page.locator('.sched-table tr', { hasText: 'Choir rehearsal' }).waitFor({ state: 'detached' });
    expect(await api('GET', '/schedules?q=Choir')).toEqual([]);
  });

  it('records a schedule now after asking: a job per target node', async () => {
    await page.goto(`${url}/schedules`);
    const before = ((await api('GET', '/recording-jobs?nodeId=sched-node&limit=200')) as unknown[]).length;
    await page.getByRole('button', { name: 'Record Morning mass now' }).click();
    const dialog = page.getByRole('dialog', { name: 'Record now: Morning mass?' });
    await dialog.getByRole('button', { name: 'Record now' }).click();
    await dialog.waitFor({ state: 'detached' });
    expect(((await api('GET', '/recording-jobs?nodeId=sched-node&limit=200')) as unknown[]).length).toBe(
      before + 1,
    );
  });

  it('has no serious or critical axe violation: week, month, day, the form open', async () => {
    const found: string[] = [];
    for (const view of ['week', 'month', 'day']) {
      await page.goto(`${url}/schedules?view=${view}&date=${monday}&tz=Europe%2FBerlin`);
      await page.locator('.occ', { hasText: 'Morning mass' }).first().waitFor();
      found.push(...(await seriousAxeViolations(page)).map((v) => `${view}: ${v}`));
    }
    await page.getByRole('button', { name: 'New schedule' }).click();
    await page.getByRole('dialog', { name: 'New schedule' }).getByLabel('Frequency').waitFor();
    found.push(...(await seriousAxeViolations(page)).map((v) => `form: ${v}`));
    await page.keyboard.press('Escape');
    expect(found).toEqual([]);
  });

  it('violates no Content-Security-Policy', () => {
    expect(cspViolations).toEqual([]);
  });
});
