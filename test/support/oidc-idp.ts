/**
 * A real OpenID Provider (oidc-provider) on loopback for single sign-on tests, and a
 * small browser: a cookie jar over fetch that follows redirects by hand and fills in
 * the provider's development login and consent forms.
 */
import type { Server } from 'node:http';
import Provider from 'oidc-provider';
import { freePort } from './ports.js';

export interface TestAccount {
  email: string;
  emailVerified?: boolean;
  name?: string;
  groups: string[];
}

export interface TestClient {
  id: string;
  secret: string;
}

export interface TestIdp {
  issuer: string;
  /** Accounts by login name (the login name is the subject); edit to change claims. */
  accounts: Map<string, TestAccount>;
  /** ID token lifetime in seconds for tokens issued from now on. */
  setIdTokenTtl(seconds: number): void;
  /** The next token response carries this ID token instead of its own (a substituted token). */
  substituteNextIdToken(idToken: string): void;
  stop(): Promise<void>;
}

export async function startTestIdp(options: {
  redirectUri: string;
  clients: TestClient[];
  accounts: Record<string, TestAccount>;
}): Promise<TestIdp> {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const accounts = new Map(Object.entries(options.accounts));
  let idTokenTtl = 3600;
  let substitute: string | undefined;
  const provider = new Provider(issuer, {
    clients: options.clients.map((c) => ({
      client_id: c.id,
      client_secret: c.secret,
      redirect_uris: [options.redirectUri],
      grant_types: ['authorization_code'],
      response_types: ['code'],
    })),
    pkce: { required: () => true },
    findAccount: (_ctx, id) => {
      const account = accounts.get(id);
      if (!account) return undefined;
      return {
        accountId: id,
        claims: () => ({
          sub: id,
          preferred_username: id,
          name: account.name ?? id,
          email: account.email,
          email_verified: account.emailVerified ?? true,
          groups: account.groups,
        }),
      };
    },
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'preferred_username'],
      groups: ['groups'],
    },
    scopes: ['openid', 'email', 'profile', 'groups'],
    features: { devInteractions: { enabled: true } },
    ttl: {
      IdToken: () => idTokenTtl,
      AccessToken: 600,
      AuthorizationCode: 60,
      Interaction: 600,
      Session: 3600,
      Grant: 3600,
    },
    cookies: { keys: ['earshot-test-idp-cookie-key'] },
  });
  provider.use(async (ctx, next) => {
    await next();
    if (substitute && ctx.method === 'POST' && ctx.path === '/token' && typeof ctx.body === 'object') {
      ctx.body = { ...(ctx.body as object), id_token: substitute };
      substitute = undefined;
    }
  });
  const server: Server = await new Promise((resolve) => {
    const s = provider.listen(port, '127.0.0.1', () => resolve(s));
  });
  return {
    issuer,
    accounts,
    setIdTokenTtl: (seconds) => {
      idTokenTtl = seconds;
    },
    substituteNextIdToken: (idToken) => {
      substitute = idToken;
    },
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}

interface StoredCookie {
  name: string;
  value: string;
  path: string;
  httpOnly: boolean;
}

export interface Page {
  url: string;
  status: number;
  location: string | undefined;
  body: string;
  setCookies: string[];
}

/**
 * Cookies are kept per host (not per port, as in browsers) and sent by path prefix.
 * SameSite is not enforced: every request here is a top-level navigation or same-site.
 */
export class Browser {
  private readonly jar = new Map<string, StoredCookie>();
  /** Every URL requested, in order: no token may ever appear in one. */
  readonly visited: string[] = [];

  cookie(url: string, name: string): StoredCookie | undefined {
    const { hostname, pathname } = new URL(url);
    return [...this.jar.entries()]
      .filter(([key, c]) => key.startsWith(`${hostname}|`) && c.name === name && pathname.startsWith(c.path))
      .map(([, c]) => c)[0];
  }

  async request(
    url: string,
    init: { method?: 'GET' | 'POST'; form?: Record<string, string>; headers?: Record<string, string> } = {},
  ): Promise<Page> {
    this.visited.push(url);
    const target = new URL(url);
    const cookies = [...this.jar.entries()]
      .filter(([key, c]) => key.startsWith(`${target.hostname}|`) && target.pathname.startsWith(c.path))
      .map(([, c]) => `${c.name}=${c.value}`);
    const response = await fetch(url, {
      method: init.method ?? 'GET',
      redirect: 'manual',
      headers: {
        ...(cookies.length > 0 ? { cookie: cookies.join('; ') } : {}),
        ...(init.form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
        ...init.headers,
      },
      body: init.form ? new URLSearchParams(init.form).toString() : undefined,
    });
    const setCookies = response.headers.getSetCookie();
    for (const header of setCookies) this.store(target, header);
    const location = response.headers.get('location') ?? undefined;
    return {
      url,
      status: response.status,
      location: location === undefined ? undefined : new URL(location, url).href,
      body: await response.text(),
      setCookies,
    };
  }

  private store(from: URL, header: string): void {
    const [pair, ...attributes] = header.split(';').map((part) => part.trim());
    const eq = pair!.indexOf('=');
    const name = pair!.slice(0, eq);
    const value = pair!.slice(eq + 1);
    let path = from.pathname.replace(/\/[^/]*$/, '') || '/';
    let expired = value === '';
    let httpOnly = false;
    for (const attribute of attributes) {
      const [key = '', val = ''] = attribute.split('=');
      const k = key.toLowerCase();
      if (k === 'path') path = val || '/';
      if (k === 'httponly') httpOnly = true;
      if (k === 'max-age' && Number(val) <= 0) expired = true;
      if (k === 'expires' && Date.parse(val) <= Date.now()) expired = true;
    }
    const key = `${from.hostname}|${path}|${name}`;
    if (expired) this.jar.delete(key);
    else this.jar.set(key, { name, value, path, httpOnly });
  }
}

/**
 * Follows redirects from `url`, signing in at the provider's development forms as
 * `login` and consenting, until a redirect would go to a URL that `stopAt` accepts
 * (returned, not requested) or a page is not a redirect (returned).
 */
export async function browse(
  browser: Browser,
  url: string,
  options: { login: string; stopAt?: (url: URL) => boolean; abortAtProvider?: boolean },
): Promise<{ stoppedAt?: URL; page: Page }> {
  let page = await browser.request(url);
  for (let step = 0; step < 20; step++) {
    if (page.location) {
      const next = new URL(page.location);
      if (options.stopAt?.(next)) return { stoppedAt: next, page };
      page = await browser.request(next.href);
      continue;
    }
    const form = /<form[^>]*action="([^"]+)"[^>]*>[\s\S]*?name="prompt" value="(login|consent)"/.exec(
      page.body,
    );
    if (page.status !== 200 || !form) return { page };
    const action = new URL(form[1]!.replaceAll('&amp;', '&'), page.url).href;
    if (options.abortAtProvider) {
      page = await browser.request(`${action}/abort`);
      continue;
    }
    page = await browser.request(action, {
      method: 'POST',
      form:
        form[2] === 'login'
          ? { prompt: 'login', login: options.login, password: 'any' }
          : { prompt: 'consent' },
    });
  }
  throw new Error(`browse: too many steps from ${url}`);
}
