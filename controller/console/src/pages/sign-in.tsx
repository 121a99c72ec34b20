/**
 * Sign in with a username and password, or single sign-on when the controller offers it;
 * afterwards, back to the page in `next=`.
 */
import { useSignal } from '@preact/signals';
import { useEffect } from 'preact/hooks';
import { ApiError, api } from '../api.js';
import { navigate, safeNext } from '../router.js';
import { signIn, signInNotice } from '../session.js';

export function SignInPage() {
  const error = useSignal<string | undefined>(undefined);
  const busy = useSignal(false);
  const sso = useSignal<{ enabled: boolean; buttonLabel: string } | undefined>(undefined);
  const next = safeNext(new URLSearchParams(window.location.search).get('next'));

  useEffect(() => {
    api<{ data: { enabled: boolean; buttonLabel: string } }>('GET', '/auth/oidc/config').then(
      ({ data }) => {
        sso.value = data;
      },
      () => {},
    );
  }, []);

  async function submit(event: SubmitEvent) {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    busy.value = true;
    error.value = undefined;
    try {
      await signIn(String(form.get('username') ?? ''), String(form.get('password') ?? ''));
      navigate(next, { replace: true });
    } catch (err) {
      error.value = err instanceof ApiError ? err.message : 'The controller did not answer; try again.';
    } finally {
      busy.value = false;
    }
  }

  return (
    <main class="sign-in">
      <form onSubmit={submit} aria-labelledby="sign-in-title">
        <h1 id="sign-in-title">Sign in to Earshot</h1>
        {signInNotice.value && (
          <p class="notice" role="status">
            {signInNotice.value}
          </p>
        )}
        <label>
          Username
          <input name="username" autocomplete="username" required />
        </label>
        <label>
          Password
          <input name="password" type="password" autocomplete="current-password" required />
        </label>
        {error.value && (
          <p class="error" role="alert">
            {error.value}
          </p>
        )}
        <button type="submit" disabled={busy.value}>
          {busy.value ? 'Signing in…' : 'Sign in'}
        </button>
        {sso.value?.enabled && (
          // A full page load: the identity provider's redirects bring the session cookie back.
          <a class="button" href={`/api/v1/auth/oidc/login?returnTo=${encodeURIComponent(next)}`}>
            {sso.value.buttonLabel}
          </a>
        )}
      </form>
    </main>
  );
}
