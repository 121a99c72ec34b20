/**
 * The console's one way to the API: same-origin fetch with the session cookie (HttpOnly, never
 * read here), the CSRF token from sign-in or `GET /auth/me` kept in memory only and sent as
 * `x-csrf-token` on every change. A 401 tells the session (session.ts), which returns to sign-in.
 */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

let csrfToken: string | undefined;
let onUnauthenticated: () => void = () => {};

export function setCsrfToken(token: string | undefined): void {
  csrfToken = token;
}

export function onSessionLost(handler: () => void): void {
  onUnauthenticated = handler;
}

const SAFE = new Set(['GET', 'HEAD']);

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (!SAFE.has(method) && csrfToken) headers['x-csrf-token'] = csrfToken;
  const response = await fetch(`/api/v1${path}`, {
    method,
    headers,
    credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 204) return undefined as T;
  const payload = (await response.json().catch(() => undefined)) as
    | { error?: { code: string; message: string } }
    | undefined;
  if (!response.ok) {
    if (response.status === 401 && !path.startsWith('/auth/login')) onUnauthenticated();
    const error = payload?.error;
    throw new ApiError(
      response.status,
      error?.code ?? 'unknown',
      error?.message ?? `${method} ${path} answered ${response.status}`,
    );
  }
  return payload as T;
}

/** Every item of a cursor-paged list, a page of 200 at a time (`path` may carry its own query). */
export async function allPages<T>(path: string): Promise<T[]> {
  const items: T[] = [];
  const join = path.includes('?') ? '&' : '?';
  let cursor: string | null = null;
  do {
    const query: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : '';
    const page: { data: T[]; nextCursor: string | null } = await api(
      'GET',
      `${path}${join}limit=200${query}`,
    );
    items.push(...page.data);
    cursor = page.nextCursor;
  } while (cursor);
  return items;
}
