/**
 * Single sign-on against a real OpenID Provider (oidc-provider) on loopback, with the
 * controller listening on a real port so the callback URL is real. A small cookie-jar
 * browser walks the whole flow: our login redirect, the provider's login and consent
 * forms, our callback, then the API with the session cookie.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCESS_LOCK_ID } from '../../controller/src/modules/access/access.repository.js';
import { bearer, type TestController, testController } from '../support/controller.js';
import { Browser, browse, startTestIdp, type TestIdp } from '../support/oidc-idp.js';
import { freePort } from '../support/ports.js';

const CLIENT = { id: 'earshot', secret: 'earshot-client-secret-0123456789abcdef' };
const OTHER_CLIENT = { id: 'other-app', secret: 'other-app-client-secret-0123456789abcd' };

describe('OIDC single sign-on', () => {
  let ctl: TestController;
  let idp: TestIdp;
  let base: string;
  let callbackUrl: string;
  let clockOffsetMs = 0;

  beforeAll(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    callbackUrl = `${base}/api/v1/auth/oidc/callback`;
    idp = await startTestIdp({
      redirectUri: callbackUrl,
      clients: [CLIENT, OTHER_CLIENT],
      accounts: {
        alice: {
          email: 'alice@example.test',
          name: 'Alice A.',
          groups: ['earshot-operators', 'night-shift'],
        },
        bob: { email: 'bob@example.test', groups: [] },
        mallory: { email: 'owner@example.test', emailVerified: false, groups: [] },
      },
    });
    ctl = await testController(
      {
        httpPort: port,
        httpHost: '127.0.0.1',
        oidcIssuerUrl: idp.issuer,
        oidcClientId: CLIENT.id,
        oidcClientSecret: CLIENT.secret,
        oidcRedirectUrl: callbackUrl,
        oidcScopes: 'openid email profile groups',
        oidcButtonLabel: 'Sign in with Test IdP',
      },
      () => new Date(Date.now() + clockOffsetMs),
    );
    await ctl.app.listen({ port, host: '127.0.0.1' });
    const policies = await ctl.app.inject({
      method: 'PATCH',
      url: '/api/v1/auth/access-policies',
      headers: bearer(await ctl.ownerToken()),
      payload: {
        oidcRoleMappings: [
          { group: 'earshot-operators', role: 'operator', scope: { type: 'fleet' } },
          { group: 'earshot-auditors', role: 'auditor', scope: { type: 'fleet' } },
        ],
      },
    });
    expect(policies.statusCode, policies.body).toBe(200);
    await ctl.db.group.create({ data: { name: 'Night shift', oidcGroup: 'night-shift' } });
    await ctl.db.group.create({ data: { name: 'Manual', oidcGroup: null } });
  });
  afterAll(async () => {
    await ctl?.stop();
    await idp?.stop();
  });

  const isCallback = (url: URL) => url.href.startsWith(callbackUrl);

  /** Our login redirect → the provider's forms; stops before the browser reaches our callback. */
  async function toCallback(browser: Browser, login: string, returnTo?: string) {
    const start = `${base}/api/v1/auth/oidc/login${returnTo ? `?returnTo=${encodeURIComponent(returnTo)}` : ''}`;
    const { stoppedAt, page } = await browse(browser, start, { login, stopAt: isCallback });
    if (!stoppedAt) throw new Error(`never reached the callback: ${page.status} ${page.body.slice(0, 300)}`);
    return stoppedAt;
  }

  async function signIn(browser: Browser, login: string, returnTo?: string) {
    const callback = await toCallback(browser, login, returnTo);
    const landing = await browser.request(callback.href);
    return { callback, landing };
  }

  async function me(browser: Browser) {
    const cookie = browser.cookie(base, 'earshot_session');
    const response = await ctl.app.inject({
      method: 'GET',
      url: '/api/v1/auth/me',
      cookies: cookie ? { earshot_session: cookie.value } : {},
    });
    return response;
  }

  function expectRefused(
    page: { status: number; body: string; setCookies: string[] },
    status: number,
    code: string,
    browser: Browser,
  ) {
    expect(page.status, page.body).toBe(status);
    const body = JSON.parse(page.body);
    expect(body.error.code).toBe(code);
    expect(body.error.message).toEqual(expect.any(String));
    expect(page.setCookies.some((c) => c.startsWith('earshot_session='))).toBe(false);
    expect(browser.cookie(base, 'earshot_session')).toBeUndefined();
    return body;
  }

  async function lastFailedLogin() {
    return ctl.db.auditEvent.findFirstOrThrow({
      where: { action: 'auth.login', outcome: 'failure' },
      orderBy: { seq: 'desc' },
    });
  }

  it('publishes whether SSO is on and its button label', async () => {
    const response = await ctl.app.inject({ method: 'GET', url: '/api/v1/auth/oidc/config' });
    expect(response.json()).toEqual({ data: { enabled: true, buttonLabel: 'Sign in with Test IdP' } });
  });

  it('redirects to the provider with PKCE S256, state and nonce kept server-side', async () => {
    const response = await ctl.app.inject({ method: 'GET', url: '/api/v1/auth/oidc/login' });
    expect(response.statusCode).toBe(302);
    const location = new URL(response.headers.location as string);
    expect(location.origin).toBe(idp.issuer);
    const params = location.searchParams;
    expect(params.get('client_id')).toBe(CLIENT.id);
    expect(params.get('redirect_uri')).toBe(callbackUrl);
    expect(params.get('code_challenge_method')).toBe('S256');
    expect(params.get('response_type')).toBe('code');
    const pending = await ctl.db.oidcLogin.findUniqueOrThrow({ where: { state: params.get('state')! } });
    expect(pending.nonce).toBe(params.get('nonce'));
    const challenge = createHash('sha256').update(pending.codeVerifier).digest('base64url');
    expect(params.get('code_challenge')).toBe(challenge);
    expect(pending.expiresAt.getTime() - Date.now()).toBeLessThanOrEqual(5 * 60_000);
    const stateCookie = response.cookies.find((c) => c.name === 'earshot_oidc_state');
    expect(stateCookie).toMatchObject({ value: params.get('state'), httpOnly: true, sameSite: 'Lax' });
  });

  it('refuses a returnTo that leaves the site', async () => {
    for (const returnTo of [
      'https://evil.example/',
      '//evil.example/x',
      '/\\evil.example',
      'relative',
      '/a b',
    ]) {
      const response = await ctl.app.inject({
        method: 'GET',
        url: `/api/v1/auth/oidc/login?returnTo=${encodeURIComponent(returnTo)}`,
      });
      expect(response.statusCode, returnTo).toBe(400);
      expect(response.headers.location).toBeUndefined();
    }
  });

  let aliceId: string;

  it('first login creates the user and signs in like a password login', async () => {
    const browser = new Browser();
    const { landing } = await signIn(browser, 'alice', '/recordings?site=a');
    expect(landing.status).toBe(302);
    expect(landing.location).toBe(`${base}/recordings?site=a`);
    const session = browser.cookie(base, 'earshot_session');
    expect(session?.httpOnly).toBe(true);
    expect(landing.setCookies.find((c) => c.startsWith('earshot_session='))).toMatch(/SameSite=Strict/);
    expect(browser.cookie(base, 'earshot_oidc_state')).toBeUndefined();

    const response = await me(browser);
    expect(response.statusCode).toBe(200);
    const data = response.json().data;
    expect(data.user).toMatchObject({ username: 'alice', displayName: 'Alice A.' });
    expect(data.via).toBe('session');
    const permissions = data.permissions.map((p: { permission: string }) => p.permission);
    expect(permissions).toContain('recording:create'); // earshot-operators → operator
    expect(permissions).not.toContain('audit:read');

    // No token in any URL the browser visited; the CSRF token comes from /auth/me.
    for (const url of browser.visited) {
      expect(url).not.toContain(session!.value);
      expect(url).not.toContain(data.csrfToken);
    }
    const withCsrf = await ctl.app.inject({
      method: 'POST',
      url: '/api/v1/auth/api-tokens',
      cookies: { earshot_session: session!.value },
      headers: { 'x-csrf-token': data.csrfToken },
      payload: { name: 'from-sso' },
    });
    expect(withCsrf.statusCode).toBe(201);

    const user = await ctl.db.user.findUniqueOrThrow({ where: { username: 'alice' } });
    aliceId = user.id;
    expect(user).toMatchObject({
      passwordHash: null,
      oidcIssuer: idp.issuer,
      oidcSubject: 'alice',
      email: 'alice@example.test',
    });
    const groups = await ctl.db.groupMember.findMany({
      where: { userId: user.id },
      include: { group: true },
    });
    expect(groups.map((g) => g.group.name)).toEqual(['Night shift']);

    const created = await ctl.db.auditEvent.findFirstOrThrow({ where: { action: 'auth.oidc.user_create' } });
    expect(created.targetId).toBe(user.id);
    const login = await ctl.db.auditEvent.findFirstOrThrow({
      where: { action: 'auth.login', outcome: 'success', actorId: user.id },
    });
    expect(JSON.parse(login.after!)).toMatchObject({ method: 'oidc', subject: 'alice' });

    // An SSO user has no password to sign in with.
    const password = await ctl.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { username: 'alice', password: 'anything-at-all' },
    });
    expect(password.statusCode).toBe(401);
  });

  it('second login finds the same user and syncs groups and roles from the claim', async () => {
    idp.accounts.get('alice')!.groups = ['earshot-auditors'];
    const usersBefore = await ctl.db.user.count();
    const browser = new Browser();
    const { landing } = await signIn(browser, 'alice');
    expect(landing.status).toBe(302);
    expect(landing.location).toBe(`${base}/`);
    const response = await me(browser);
    expect(response.json().data.user.id).toBe(aliceId);
    expect(await ctl.db.user.count()).toBe(usersBefore);
    const permissions = response.json().data.permissions.map((p: { permission: string }) => p.permission);
    expect(permissions).toContain('audit:read');
    expect(permissions).not.toContain('recording:create');
    expect(await ctl.db.groupMember.count({ where: { userId: aliceId } })).toBe(0);
    const synced = await ctl.db.auditEvent.findFirstOrThrow({
      where: { action: 'auth.oidc.access_sync', targetId: aliceId },
      orderBy: { seq: 'desc' },
    });
    expect(JSON.parse(synced.after!)).toMatchObject({
      groupsLeft: ['Night shift'],
      grantsAdded: [{ role: 'auditor' }],
      grantsRemoved: [{ role: 'operator' }],
    });
  });

  it('never links to an existing local account by username or email', async () => {
    const owner = await ctl.db.user.findUniqueOrThrow({ where: { username: 'owner' } });
    await ctl.db.user.update({ where: { id: owner.id }, data: { email: 'owner@example.test' } });
    await ctl.db.user.create({ data: { username: 'bob', displayName: 'Local Bob', passwordHash: null } });
    const browser = new Browser();
    await signIn(browser, 'bob');
    const bob = (await me(browser)).json().data.user;
    expect(bob.username).toMatch(/^bob-[0-9a-f]{8}$/);

    await signIn(new Browser(), 'mallory'); // claims the owner's email, unverified
    const mallory = await ctl.db.user.findFirstOrThrow({ where: { oidcSubject: 'mallory' } });
    expect(mallory.id).not.toBe(owner.id);
    expect(mallory.email).toBeNull();
  });

  // PostgreSQL's transactions run side by side; SQLite's writes one at a time.
  it.runIf(process.env.EARSHOT_TEST_DB === 'postgres')(
    'a first login waits for a user created meanwhile, and does not take its name in another letter case',
    async () => {
      idp.accounts.set('dana', { email: 'dana@example.test', groups: [] });
      const browser = new Browser();
      const callback = await toCallback(browser, 'dana');
      // An administrator creating `Dana`, caught half-way: under the access lock, not committed.
      let commit!: () => void;
      const committing = new Promise<void>((resolve) => (commit = resolve));
      let written!: () => void;
      const isWritten = new Promise<void>((resolve) => (written = resolve));
      const admin = ctl.db.$transaction(
        async (tx) => {
          await tx.$executeRawUnsafe(`SELECT pg_advisory_xact_lock(${ACCESS_LOCK_ID})`);
          await tx.user.create({
            data: { username: 'Dana', displayName: 'Dana (local)', passwordHash: null },
          });
          written();
          await committing;
        },
        { timeout: 30_000 },
      );
      await isWritten;
      let settled = false;
      const landing = browser.request(callback.href).finally(() => (settled = true));
      // The sign-in either waits on the lock (seen in pg_locks) or, unlocked, finishes at once.
      const waiting = async () =>
        (
          await ctl.db.$queryRaw<{ n: bigint }[]>`
          SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`
        )[0]!.n > 0n;
      while (!settled && !(await waiting())) await new Promise((resolve) => setImmediate(resolve));
      commit();
      await admin;
      expect((await landing).status).toBe(302);
      const danas = await ctl.db.$queryRaw<{ username: string }[]>`
        SELECT "username" FROM "User" WHERE lower("username") LIKE 'dana%' ORDER BY "username"`;
      expect(danas.map((u) => u.username)).toEqual(['Dana', expect.stringMatching(/^dana-[0-9a-f]{8}$/)]);
    },
  );

  it('refuses a forged state, and a callback from a browser that did not start the login', async () => {
    const browser = new Browser();
    const callback = await toCallback(browser, 'alice');
    const forged = new URL(callback);
    forged.searchParams.set('state', randomBytes(32).toString('base64url'));
    expectRefused(await browser.request(forged.href), 400, 'oidc_state_invalid', browser);
    expect((await lastFailedLogin()).reason).toBe('oidc: state not bound to this browser');

    // The genuine callback URL, delivered to a victim's browser (login CSRF).
    const victim = new Browser();
    expectRefused(await victim.request(callback.href), 400, 'oidc_state_invalid', victim);
  });

  it('refuses a replayed callback and a replayed code', async () => {
    const browser = new Browser();
    const { callback, landing } = await signIn(browser, 'alice');
    expect(landing.status).toBe(302);

    // The same callback again, even carrying its state cookie: the state was used up.
    const oldState = callback.searchParams.get('state')!;
    const replay = await ctl.app.inject({
      method: 'GET',
      url: `${callback.pathname}${callback.search}`,
      cookies: { earshot_oidc_state: oldState },
    });
    expect(replay.statusCode).toBe(400);
    expect(replay.json().error.code).toBe('oidc_state_invalid');
    expect(replay.cookies.some((c) => c.name === 'earshot_session')).toBe(false);
    expect((await lastFailedLogin()).reason).toBe('oidc: state unknown or replayed');

    // The used code under a fresh, valid state: the provider refuses the exchange.
    const again = new Browser();
    const start = await again.request(`${base}/api/v1/auth/oidc/login`);
    const freshState = new URL(start.location!).searchParams.get('state')!;
    const replayed = new URL(callback);
    replayed.searchParams.set('state', freshState);
    const body = expectRefused(await again.request(replayed.href), 401, 'oidc_login_failed', again);
    expect(body.error.details.reason).toBe('code_rejected');
    expect((await lastFailedLogin()).reason).toBe('oidc: code_rejected');
  });

  it('refuses an expired login (state older than five minutes)', async () => {
    const browser = new Browser();
    const callback = await toCallback(browser, 'alice');
    clockOffsetMs = 6 * 60_000;
    try {
      expectRefused(await browser.request(callback.href), 400, 'oidc_state_invalid', browser);
    } finally {
      clockOffsetMs = 0;
    }
    expect((await lastFailedLogin()).reason).toBe('oidc: state expired');
  });

  it('refuses when the provider returns an error', async () => {
    const browser = new Browser();
    const { stoppedAt } = await browse(browser, `${base}/api/v1/auth/oidc/login`, {
      login: 'alice',
      stopAt: isCallback,
      abortAtProvider: true,
    });
    expect(stoppedAt?.searchParams.get('error')).toBe('access_denied');
    const body = expectRefused(await browser.request(stoppedAt!.href), 401, 'oidc_provider_error', browser);
    expect(body.error.details.error).toBe('access_denied');
  });

  it('refuses an expired ID token (controller clock moved past expiry + tolerance)', async () => {
    const browser = new Browser();
    idp.setIdTokenTtl(1);
    try {
      const callback = await toCallback(browser, 'alice');
      // 90 s later by the controller's clock: the state (5 min) is still valid, the
      // ID token (1 s, plus openid-client's 30 s tolerance) is not.
      clockOffsetMs = 90_000;
      const body = expectRefused(await browser.request(callback.href), 401, 'oidc_login_failed', browser);
      expect(body.error.details.reason).toBe('id_token_expired');
    } finally {
      clockOffsetMs = 0;
      idp.setIdTokenTtl(3600);
    }
  });

  it('refuses an ID token issued to another client (wrong audience)', async () => {
    const browser = new Browser();
    const start = await browser.request(`${base}/api/v1/auth/oidc/login`);
    const authorize = new URL(start.location!);
    const nonce = authorize.searchParams.get('nonce')!;

    // Another client of the same provider signs the same person in, with our nonce.
    const verifier = randomBytes(32).toString('base64url');
    const other = new URL(`${idp.issuer}/auth`);
    other.search = new URLSearchParams({
      client_id: OTHER_CLIENT.id,
      response_type: 'code',
      scope: 'openid',
      redirect_uri: callbackUrl,
      state: 'other-state',
      nonce,
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
    }).toString();
    const { stoppedAt: otherCallback } = await browse(browser, other.href, {
      login: 'alice',
      stopAt: isCallback,
    });
    const tokenResponse = await fetch(`${idp.issuer}/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${OTHER_CLIENT.id}:${OTHER_CLIENT.secret}`).toString('base64')}`,
      },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code: otherCallback!.searchParams.get('code')!,
        redirect_uri: callbackUrl,
        code_verifier: verifier,
      }).toString(),
    });
    const { id_token: otherIdToken } = (await tokenResponse.json()) as { id_token: string };
    expect(otherIdToken).toEqual(expect.any(String));

    // Our exchange gets that token instead of its own.
    idp.substituteNextIdToken(otherIdToken);
    const { stoppedAt: ourCallback } = await browse(browser, authorize.href, {
      login: 'alice',
      stopAt: isCallback,
    });
    const body = expectRefused(await browser.request(ourCallback!.href), 401, 'oidc_login_failed', browser);
    expect(body.error.details.reason).toBe('id_token_audience');
    expect((await lastFailedLogin()).reason).toBe('oidc: id_token_audience');
  });

  it('refuses a disabled user', async () => {
    await ctl.db.user.update({ where: { id: aliceId }, data: { disabled: true } });
    try {
      const browser = new Browser();
      const callback = await toCallback(browser, 'alice');
      expectRefused(await browser.request(callback.href), 403, 'account_disabled', browser);
      const failure = await lastFailedLogin();
      expect(failure).toMatchObject({ reason: 'oidc: account disabled', targetId: aliceId });
    } finally {
      await ctl.db.user.update({ where: { id: aliceId }, data: { disabled: false } });
    }
  });

  it('answers garbage callbacks and logins with a 4xx, never a 5xx', async () => {
    const queries = [
      '',
      '?state=',
      '?code=x',
      '?state=%00&code=%ff',
      `?state=${'a'.repeat(600)}`,
      '?error=%3Cscript%3E&state=x',
      '?state=x&state=y&code=z',
      '?iss=https%3A%2F%2Fevil.example&state=x&code=y',
    ];
    for (const query of queries) {
      for (const cookies of [{}, { earshot_oidc_state: 'x' }] as Record<string, string>[]) {
        const response = await ctl.app.inject({
          method: 'GET',
          url: `/api/v1/auth/oidc/callback${query}`,
          cookies,
        });
        expect(response.statusCode, query).toBeGreaterThanOrEqual(400);
        expect(response.statusCode, query).toBeLessThan(500);
        expect(response.json().error.code, query).toEqual(expect.any(String));
      }
    }
    for (const query of ['?returnTo=', '?returnTo=%00', '?returnTo=/ok&returnTo=/again', '?other=1']) {
      const response = await ctl.app.inject({ method: 'GET', url: `/api/v1/auth/oidc/login${query}` });
      expect(response.statusCode, query).toBeLessThan(500);
    }
  });

  it('shows the discovery document to auth:manage holders', async () => {
    const owner = await ctl.ownerToken();
    const response = await ctl.app.inject({
      method: 'GET',
      url: '/api/v1/auth/oidc/discovery',
      headers: bearer(owner),
    });
    expect(response.statusCode).toBe(200);
    const data = response.json().data;
    expect(data.issuer).toBe(idp.issuer);
    expect(data.document.authorization_endpoint).toBe(`${idp.issuer}/auth`);
    expect(data.document.code_challenge_methods_supported).toContain('S256');
  });

  it('keeps the audit chain intact through all of it', async () => {
    expect(await ctl.services.audit.verifyChain()).toMatchObject({ ok: true });
  });
});

describe('OIDC not configured', () => {
  let ctl: TestController;
  beforeAll(async () => {
    ctl = await testController();
  });
  afterAll(async () => ctl.stop());

  it('says so, and its routes answer 404', async () => {
    const config = await ctl.app.inject({ method: 'GET', url: '/api/v1/auth/oidc/config' });
    expect(config.json().data.enabled).toBe(false);
    for (const url of ['/api/v1/auth/oidc/login', '/api/v1/auth/oidc/callback?state=x&code=y']) {
      const response = await ctl.app.inject({ method: 'GET', url });
      expect(response.statusCode, url).toBe(404);
      expect(response.json().error.code).toBe('oidc_not_configured');
    }
  });
});
