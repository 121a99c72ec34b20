/**
 * Who is signed in: `GET /auth/me` (user, CSRF token, resolved permissions), sign-in and
 * sign-out. A 401 anywhere returns to sign-in with the current URL as `next=`, so an expired
 * session comes back to the same page.
 */
import { computed, signal } from '@preact/signals';
import { ApiError, api, onSessionLost, setCsrfToken } from './api.js';
import { here, location, navigate } from './router.js';

export interface Me {
  user: { id: string; username: string; displayName: string };
  via: string;
  csrfToken?: string;
  permissions: { permission: string; scopes: { type: string; id: string | null }[] }[];
}

/** undefined: not known yet; null: signed out. */
export const me = signal<Me | null | undefined>(undefined);
/** Why the operator is on the sign-in page (an expired session), if not by choice. */
export const signInNotice = signal<string | undefined>(undefined);
/** Set when the controller could not be asked who is signed in (not a refusal: it did not answer). */
export const sessionError = signal<string | undefined>(undefined);

export const SIGN_IN_PATH = '/sign-in';

const granted = computed(() => new Set((me.value?.permissions ?? []).map((p) => p.permission)));

/** Holds the permission anywhere (the server still decides per object and scope). */
export function can(permission: string): boolean {
  return granted.value.has(permission);
}

function signedOut(notice?: string): void {
  setCsrfToken(undefined);
  me.value = null;
  if (notice !== undefined) signInNotice.value = notice; // a later refusal keeps the first reason
  if (location.value.path !== SIGN_IN_PATH)
    navigate(`${SIGN_IN_PATH}?next=${encodeURIComponent(here())}`, { replace: true });
}

onSessionLost(() => {
  if (me.value) signedOut('Your session ended; sign in again to continue.');
});

export async function loadSession(): Promise<void> {
  try {
    const { data } = await api<{ data: Me }>('GET', '/auth/me');
    setCsrfToken(data.csrfToken);
    sessionError.value = undefined;
    me.value = data;
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return signedOut();
    // Signed in or not is unknown: say so (the shell offers a retry) rather than guess.
    if (me.value === undefined)
      sessionError.value = error instanceof Error ? error.message : 'The controller did not answer.';
  }
}

export async function signIn(username: string, password: string): Promise<void> {
  const { data } = await api<{ data: { csrfToken: string } }>('POST', '/auth/login', { username, password });
  setCsrfToken(data.csrfToken);
  signInNotice.value = undefined;
  await loadSession();
}

export async function signOut(): Promise<void> {
  try {
    await api('POST', '/auth/logout');
  } finally {
    setCsrfToken(undefined);
    me.value = null;
    signInNotice.value = undefined;
    navigate(SIGN_IN_PATH, { replace: true });
  }
}
