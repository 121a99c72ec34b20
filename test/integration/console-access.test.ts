/**
 * The console's Users & access page in Chromium against the real controller: a user created
 * through the form is stored with its role and scope (and audited); the server's refusal is
 * shown in the dialog; disabling asks first; dialogs close on Esc and focus returns; an API
 * token's secret is shown once with a copy button and never again (the list and a reload have
 * no secret), revoking asks first; every change carries the CSRF token; a viewer has no Access
 * entry. No Content-Security-Policy violation. Every wait is for something the page shows.
 */
import type { Browser, Page, Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtConsole, launchChromium, signedInPage } from '../support/console.js';
import {
  bearer,
  enrolledNode,
  type TestController,
  testController,
  userWithRole,
} from '../support/controller.js';
import { listeningUrl } from '../support/listen.js';

describe('console: users & access', () => {
  let ctl: TestController;
  let url: string;
  let browser: Browser;
  let page: Page;
  let cspViolations: string[];
  let siteId: string;
  const changes: { method: string; path: string; csrf: string | undefined }[] = [];
  const owner = async () => bearer(await ctl.ownerToken());

  beforeAll(async () => {
    ctl = await testController({}, undefined, { consoleDir: await builtConsole() });
    await userWithRole(ctl, 'access-viewer', 'viewer');
    ({ siteId } = await enrolledNode(ctl, { id: 'access-node', site: 'hall-b' }));
    url = await listeningUrl(ctl);
    browser = await launchChromium();
    ({ page, cspViolations } = await signedInPage(browser, url, '/access'));
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: url });
    page.on('request', (request: Request) => {
      const path = new URL(request.url()).pathname;
      if (request.method() !== 'GET' && path.startsWith('/api/v1/auth/') && path !== '/api/v1/auth/login')
        changes.push({ method: request.method(), path, csrf: request.headers()['x-csrf-token'] });
    });
  });
  afterAll(async () => {
    await browser?.close();
    await ctl?.stop();
  });

  const userRow = (username: string) => page.locator(`.access-row[data-username="${username}"]`);

  it('opens on the users tab (in the URL) and lists the users', async () => {
    await page.getByRole('heading', { name: 'Users & access', level: 1 }).waitFor();
    await userRow('owner').waitFor();
    await userRow('access-viewer').waitFor();
    expect(await userRow('access-viewer').locator('.access-grants').textContent()).toBe('viewer over fleet');
    const tabs = page.getByRole('navigation', { name: 'Access sections' });
    expect(await tabs.getByRole('link', { name: 'Users' }).getAttribute('aria-current')).toBe('page');
    await tabs.getByRole('link', { name: 'Roles' }).click();
    await page.locator('.access-row[data-role="viewer"]').getByText('Built-in (fixed)').waitFor();
    expect(new URL(page.url()).pathname).toBe('/access/roles');
    await page.goBack();
    await userRow('owner').waitFor();
  });

  it('closes a dialog on Esc and returns focus to what opened it', async () => {
    const open = page.getByRole('button', { name: 'Create user' });
    await open.click();
    const dialog = page.getByRole('dialog', { name: 'Create user' });
    await dialog.waitFor();
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    expect(await open.evaluate((el) => el === document.activeElement)).toBe(true);
  });

  it('creates a user through the form with a role over a scope: stored and audited', async () => {
    await page.getByRole('button', { name: 'Create user' }).click();
    const dialog = page.getByRole('dialog', { name: 'Create user' });
    await dialog.getByLabel('Username').fill('access-carol');
    await dialog.getByLabel('Display name').fill('Carol');
    await dialog.getByLabel('Password', { exact: true }).fill('carol-password-123');
    await dialog.getByLabel('Role', { exact: true }).selectOption('operator');
    await dialog.getByLabel('Scope').selectOption('site');
    await dialog.getByLabel('Site id').fill(siteId);
    await dialog.getByRole('button', { name: 'Create' }).click();
    await dialog.waitFor({ state: 'detached' });
    await userRow('access-carol').getByText(`operator over site ${siteId}`).waitFor();
    const stored = await ctl.app.inject({
      method: 'GET',
      url: '/api/v1/auth/users?q=access-carol',
      headers: await owner(),
    });
    const carol = stored.json().data[0];
    expect(carol).toMatchObject({
      username: 'access-carol',
      displayName: 'Carol',
      hasPassword: true,
      disabled: false,
      grants: [{ role: 'operator', scope: { type: 'site', id: siteId } }],
    });
    const audited = await ctl.app.inject({
      method: 'GET',
      url: `/api/v1/audit-events?action=auth.user.create&targetId=${carol.id}`,
      headers: await owner(),
    });
    expect(audited.json().data).toMatchObject([{ actor: { name: 'owner' }, outcome: 'success' }]);
    // The row links to the user's audit trail.
    await userRow('access-carol').getByRole('link', { name: 'Audit trail of access-carol' }).click();
    await page.locator('.audit-row', { hasText: 'auth.user.create' }).waitFor();
    expect(new URL(page.url()).searchParams.get('targetId')).toBe(carol.id);
    await page.goBack();
    await userRow('access-carol').waitFor();
  });

  it('shows the server’s refusal in the dialog (a username taken)', async () => {
    await page.getByRole('button', { name: 'Create user' }).click();
    const dialog = page.getByRole('dialog', { name: 'Create user' });
    await dialog.getByLabel('Username').fill('access-carol');
    await dialog.getByLabel('Password', { exact: true }).fill('carol-password-456');
    await dialog.getByRole('button', { name: 'Create' }).click();
    const refusal = dialog.getByRole('alert');
    await refusal.waitFor();
    expect(await refusal.textContent()).toMatch(/access-carol|exists|taken/i);
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached' });
  });

  it('disables a user behind a confirmation, then enables them', async () => {
    await userRow('access-carol').getByRole('button', { name: 'Disable' }).click();
    const confirm = page.getByRole('dialog', { name: 'Disable access-carol?' });
    await confirm.getByRole('button', { name: 'Disable' }).click();
    await page.locator('.access-row[data-username="access-carol"][data-disabled="true"]').waitFor();
    const stored = await ctl.app.inject({
      method: 'GET',
      url: '/api/v1/auth/users?q=access-carol',
      headers: await owner(),
    });
    expect(stored.json().data[0].disabled).toBe(true);
    await userRow('access-carol').getByRole('button', { name: 'Enable' }).click();
    await page.locator('.access-row[data-username="access-carol"][data-disabled="false"]').waitFor();
  });

  const login = async (username: string, password: string) =>
    (await ctl.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username, password } }))
      .statusCode;

  it('sets a user’s password from their Password dialog: they sign in with it, not the old one', async () => {
    await userRow('access-carol').getByRole('button', { name: 'Password of access-carol' }).click();
    const dialog = page.getByRole('dialog', { name: 'Password of access-carol' });
    await dialog.getByLabel('New password').fill('a brand new password 42');
    await dialog.getByRole('button', { name: 'Set password' }).click();
    await dialog.waitFor({ state: 'detached' });
    expect(await login('access-carol', 'a brand new password 42')).toBe(200);
    expect(
      await ctl.db.auditEvent.count({ where: { action: { contains: 'password' }, targetType: 'user' } }),
    ).toBeGreaterThan(0);
  });

  it('deletes a user behind a confirmation: gone from the list and the API', async () => {
    await userWithRole(ctl, 'access-dave', 'viewer');
    const dave = await ctl.db.user.findUniqueOrThrow({ where: { username: 'access-dave' } });
    await page.goto(`${url}/access/users?q=access-dave`);
    await userRow('access-dave').getByRole('button', { name: 'Delete access-dave' }).click();
    const confirm = page.getByRole('dialog', { name: 'Delete access-dave?' });
    await confirm.getByRole('button', { name: 'Delete' }).click();
    await userRow('access-dave').waitFor({ state: 'detached' });
    await page.getByText('No user matches.').waitFor();
    const gone = await ctl.app.inject({
      method: 'GET',
      url: `/api/v1/auth/users/${dave.id}`,
      headers: await owner(),
    });
    expect(gone.statusCode).toBe(404);
    await page.goto(`${url}/access/users`);
  });

  it('replaces a user’s roles in their Roles dialog: stored as the API has it', async () => {
    await userRow('access-carol').getByRole('button', { name: 'Roles…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Roles of access-carol' });
    await dialog.getByRole('button', { name: `Remove operator over site ${siteId}` }).click();
    await dialog.getByText('No roles of their own.').waitFor();
    await dialog.getByLabel('Role', { exact: true }).selectOption('viewer');
    await dialog.getByLabel('Scope').selectOption('node');
    await dialog.getByLabel('Node id').fill('access-node');
    await dialog.getByRole('button', { name: 'Add role' }).click();
    await dialog.getByText('viewer over node access-node').waitFor();
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.waitFor({ state: 'detached' });
    await userRow('access-carol').getByText('viewer over node access-node').waitFor();
    const stored = await ctl.app.inject({
      method: 'GET',
      url: '/api/v1/auth/users?q=access-carol',
      headers: await owner(),
    });
    expect(stored.json().data[0].grants).toEqual([
      { role: 'viewer', scope: { type: 'node', id: 'access-node' } },
    ]);
  });

  it('creates a custom role from permissions (built-in roles have no delete) and a group with it, then adds a member', async () => {
    const tabs = page.getByRole('navigation', { name: 'Access sections' });
    await tabs.getByRole('link', { name: 'Roles' }).click();
    await page.locator('.access-row[data-role="owner"]').waitFor();
    expect(await page.locator('.access-row[data-role="owner"]').getByRole('button').count()).toBe(0);
    await page.getByRole('button', { name: 'Create role' }).click();
    const roleDialog = page.getByRole('dialog', { name: 'Create role' });
    await roleDialog.getByLabel('Name').fill('listener');
    await roleDialog.getByLabel('node:read').check();
    await roleDialog.getByLabel('listen:monitor').check();
    await roleDialog.getByRole('button', { name: 'Create' }).click();
    await page.locator('.access-row[data-role="listener"]').getByText('Custom').waitFor();
    await tabs.getByRole('link', { name: 'Groups' }).click();
    await page.getByText('No groups.').waitFor();
    await page.getByRole('button', { name: 'Create group' }).click();
    const groupDialog = page.getByRole('dialog', { name: 'Create group' });
    await groupDialog.getByLabel('Name').fill('Monitors');
    await groupDialog.getByLabel('Role', { exact: true }).selectOption('listener');
    await groupDialog.getByRole('button', { name: 'Create' }).click();
    const group = page.locator('.access-row[data-group="Monitors"]');
    await group.getByText('listener over fleet').waitFor();
    await group.getByRole('button', { name: 'Members…' }).click();
    const members = page.getByRole('dialog', { name: 'Members of Monitors' });
    await members.getByText('No members.').waitFor();
    await members.getByLabel('Add a user').fill('access-carol');
    await members.getByRole('button', { name: 'Add' }).click();
    await members.getByRole('button', { name: 'Remove access-carol' }).waitFor();
    await members.getByRole('button', { name: 'Close' }).click();
    await group.getByText('Members: access-carol').waitFor();
    const stored = await ctl.app.inject({
      method: 'GET',
      url: '/api/v1/auth/groups',
      headers: await owner(),
    });
    expect(stored.json().data).toMatchObject([
      {
        name: 'Monitors',
        grants: [{ role: 'listener', scope: { type: 'fleet' } }],
        members: [{ username: 'access-carol' }],
      },
    ]);
    const roles = await ctl.app.inject({ method: 'GET', url: '/api/v1/auth/roles', headers: await owner() });
    expect(
      roles
        .json()
        .data.find((r: { name: string }) => r.name === 'listener')
        .permissions.sort(),
    ).toEqual(['listen:monitor', 'node:read']);
  });

  it('edits the group (its name, a role replaced) and the custom role’s permissions: stored as the API has it', async () => {
    const tabs = page.getByRole('navigation', { name: 'Access sections' });
    await tabs.getByRole('link', { name: 'Groups' }).click();
    await page
      .locator('.access-row[data-group="Monitors"]')
      .getByRole('button', { name: 'Edit group Monitors' })
      .click();
    const dialog = page.getByRole('dialog', { name: 'Edit group Monitors' });
    await dialog.getByLabel('Name', { exact: true }).fill('Wall monitors');
    await dialog.getByRole('button', { name: 'Remove listener over fleet' }).click();
    await dialog.getByLabel('Role', { exact: true }).selectOption('viewer');
    await dialog.getByRole('button', { name: 'Add role' }).click();
    await dialog.getByText('viewer over fleet').waitFor();
    await dialog.getByRole('button', { name: 'Save' }).click();
    await page.locator('.access-row[data-group="Wall monitors"]').getByText('viewer over fleet').waitFor();
    const groups = await ctl.app.inject({
      method: 'GET',
      url: '/api/v1/auth/groups',
      headers: await owner(),
    });
    expect(groups.json().data).toMatchObject([
      { name: 'Wall monitors', grants: [{ role: 'viewer', scope: { type: 'fleet' } }] },
    ]);
    await tabs.getByRole('link', { name: 'Roles' }).click();
    await page.getByRole('button', { name: 'Edit role listener' }).click();
    const roleDialog = page.getByRole('dialog', { name: 'Edit role listener' });
    expect(await roleDialog.getByLabel('listen:monitor').isChecked()).toBe(true);
    await roleDialog.getByLabel('listen:monitor').uncheck();
    await roleDialog.getByLabel('Description').fill('sees the fleet');
    await roleDialog.getByRole('button', { name: 'Save' }).click();
    await page.locator('.access-row[data-role="listener"]').getByText('sees the fleet').waitFor();
    const roles = await ctl.app.inject({ method: 'GET', url: '/api/v1/auth/roles', headers: await owner() });
    expect(roles.json().data.find((r: { name: string }) => r.name === 'listener')).toMatchObject({
      description: 'sees the fleet',
      permissions: ['node:read'],
    });
  });

  it('changes the password policy in the Policies tab: stored and audited', async () => {
    await page
      .getByRole('navigation', { name: 'Access sections' })
      .getByRole('link', { name: 'Policies' })
      .click();
    const minimum = page.getByLabel('Minimum password length');
    expect(await minimum.inputValue()).toBe('12');
    await page.getByText('None: single sign-on gives no role by IdP group here').waitFor();
    await minimum.fill('16');
    await page.getByRole('button', { name: 'Save policies' }).click();
    await page.getByText('Saved.').waitFor();
    const stored = await ctl.app.inject({
      method: 'GET',
      url: '/api/v1/auth/access-policies',
      headers: await owner(),
    });
    expect(stored.json().data.password).toEqual({ minLength: 16 });
    const audited = await ctl.app.inject({
      method: 'GET',
      url: '/api/v1/audit-events?action=auth.access_policy.update',
      headers: await owner(),
    });
    expect(audited.json().data).toHaveLength(1);
  });

  it('creates an API token: the secret is shown once, copied, and never again', async () => {
    await page
      .getByRole('navigation', { name: 'Access sections' })
      .getByRole('link', { name: 'API tokens' })
      .click();
    await page.getByText('No API tokens.').waitFor();
    expect(new URL(page.url()).pathname).toBe('/access/tokens');
    await page.getByRole('button', { name: 'Create token' }).click();
    const create = page.getByRole('dialog', { name: 'Create API token' });
    await create.getByLabel('Name').fill('backup script');
    await create.getByRole('button', { name: 'Create' }).click();
    const shown = page.getByRole('dialog', { name: 'Token created' });
    const secret = await shown.getByLabel('Token').inputValue();
    expect(secret.length).toBeGreaterThan(20);
    await shown.getByRole('button', { name: 'Copy' }).click();
    await shown.getByText('Copied.').waitFor();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret);
    // The secret works as a bearer token.
    const me = await ctl.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: bearer(secret) });
    expect(me.json().data.user.username).toBe('owner');
    await shown.getByRole('button', { name: 'Done' }).click();
    await shown.waitFor({ state: 'detached' });
    const row = page.locator('.access-row[data-token="backup script"]');
    await row.waitFor();
    expect(await page.content()).not.toContain(secret);
    // Nor after a reload: the list has hints only.
    await page.reload();
    await row.waitFor();
    expect(await page.content()).not.toContain(secret);
    const listed = await ctl.app.inject({
      method: 'GET',
      url: '/api/v1/auth/api-tokens',
      headers: await owner(),
    });
    expect(listed.body).not.toContain(secret);
    expect(listed.json().data[0]).not.toHaveProperty('token');
  });

  it('revokes a token behind a confirmation', async () => {
    const row = page.locator('.access-row[data-token="backup script"]');
    await row.getByRole('button', { name: 'Revoke' }).click();
    await page
      .getByRole('dialog', { name: 'Revoke token backup script?' })
      .getByRole('button', { name: 'Revoke' })
      .click();
    await page.locator('.access-row[data-token="backup script"][data-revoked="true"]').waitFor();
    const listed = await ctl.app.inject({
      method: 'GET',
      url: '/api/v1/auth/api-tokens',
      headers: await owner(),
    });
    expect(listed.json().data[0].revoked).toBe(true);
  });

  it('sends the CSRF token with every change', () => {
    expect(changes.map((c) => `${c.method} ${c.path}`)).toEqual(
      expect.arrayContaining(['POST /api/v1/auth/users', 'POST /api/v1/auth/api-tokens']),
    );
    expect(changes.every((c) => typeof c.csrf === 'string' && c.csrf.length > 10)).toBe(true);
  });

  it('a user changes their own password from their tokens page (the repetition must match)', async () => {
    await userWithRole(ctl, 'access-erin', 'viewer');
    const { page: erin } = await signedInPage(browser, url, '/access/tokens', {
      username: 'access-erin',
      password: 'access-erin-password-123',
    });
    try {
      await erin.getByRole('button', { name: 'Change your password…' }).click();
      const dialog = erin.getByRole('dialog', { name: 'Change your password' });
      await dialog.getByLabel('Current password').fill('access-erin-password-123');
      await dialog.getByLabel('New password', { exact: true }).fill('erin chose this one 7');
      await dialog.getByLabel('New password again').fill('erin chose another 7');
      await dialog.getByRole('button', { name: 'Change password' }).click();
      await dialog.getByText('The new password and its repetition differ.').waitFor();
      await dialog.getByLabel('New password again').fill('erin chose this one 7');
      await dialog.getByRole('button', { name: 'Change password' }).click();
      await erin.getByRole('status').getByText('Your password is changed').waitFor();
      expect(await login('access-erin', 'erin chose this one 7')).toBe(200);
      expect(await login('access-erin', 'access-erin-password-123')).toBe(401);
    } finally {
      await erin.context().close();
    }
  });

  it('has no Access entry for a viewer (only their own tokens by link), and no CSP violation', async () => {
    const { page: viewer } = await signedInPage(browser, url, '/fleet', {
      username: 'access-viewer',
      password: 'access-viewer-password-123',
    });
    const nav = viewer.getByRole('navigation', { name: 'Main' });
    await nav.getByRole('link', { name: 'Fleet' }).waitFor();
    expect(await nav.getByRole('link', { name: 'Users & access' }).count()).toBe(0);
    await viewer.goto(`${url}/access/users`);
    await viewer.getByText('Your role cannot use Users & access.').waitFor();
    // Their own tokens are a click away: their name in the header.
    await viewer.getByRole('link', { name: 'access-viewer: your API tokens' }).click();
    await viewer.getByText('No API tokens.').waitFor();
    expect(new URL(viewer.url()).pathname).toBe('/access/tokens');
    const tabs = viewer.getByRole('navigation', { name: 'Access sections' });
    expect(await tabs.getByRole('link').allTextContents()).toEqual(['API tokens']);
    await viewer.context().close();
    expect(cspViolations).toEqual([]);
  });
});
