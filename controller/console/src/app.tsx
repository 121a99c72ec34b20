/**
 * The shell: sign-in when signed out, otherwise the header, the navigation (only what the
 * role can do; the server still decides) and the page for the URL. The live events stream
 * is open while signed in.
 */
import { effect, signal } from '@preact/signals';
import { useEffect, useRef } from 'preact/hooks';
import { closeStream, openStream, streamState } from './events.js';
import { PageFrame } from './page-frame.js';
import { NotFoundPage } from './pages/not-found.js';
import { SignInPage } from './pages/sign-in.js';
import { allowed, pageFor, visibleNav } from './pages.js';
import { location, onLinkClick } from './router.js';
import { loadSession, me, SIGN_IN_PATH, sessionError } from './session.js';
import { SignOutButton } from './sign-out.js';
import { ThemeSwitch } from './theme-switch.js';

/** The operator's time zone, named beside the times it applies to. */
const TIME_ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone;

/**
 * The live events stream's state as the header shows it: a reconnect that is live again within
 * RECONNECT_QUIET_MS is not shown (the browser reopens a stream the server ended, and the tab's
 * stream is opened again when the meters on screen change: no flicker, and no repaint of a
 * busy page for each).
 */
const RECONNECT_QUIET_MS = 1000;
const shownStream = signal(streamState.peek());
let quiet: ReturnType<typeof setTimeout> | undefined;
effect(() => {
  const state = streamState.value;
  if (state === 'connecting' && shownStream.peek() === 'live') {
    quiet ??= setTimeout(() => {
      quiet = undefined;
      shownStream.value = streamState.peek();
    }, RECONNECT_QUIET_MS);
    return;
  }
  if (quiet !== undefined) clearTimeout(quiet);
  quiet = undefined;
  shownStream.value = state;
});

/** Only this renders again when the stream's state changes (not the shell and its page). */
function StreamStatus() {
  const state = shownStream.value;
  return (
    <span class={`stream stream-${state}`} title="Live events" role="status">
      {state === 'live' ? 'Live' : state === 'down' ? 'Offline' : 'Connecting…'}
    </span>
  );
}

export function App() {
  const user = me.value;
  const signedIn = Boolean(user);
  useEffect(() => {
    if (!signedIn) return;
    openStream(() => void loadSession());
    return closeStream;
  }, [signedIn]);

  const current = pageFor(location.value.path);
  const signingIn = !user || location.value.path === SIGN_IN_PATH;
  useEffect(() => {
    document.title = signingIn ? 'Sign in · Earshot' : `${current?.title ?? 'Not found'} · Earshot`;
  }, [signingIn, current]);

  // After an in-app navigation, focus moves to the new page (screen readers start there).
  const path = location.value.path;
  const firstPath = useRef(path);
  useEffect(() => {
    if (path !== firstPath.current) document.getElementById('content')?.focus();
    firstPath.current = '';
  }, [path]);

  if (user === undefined && sessionError.value)
    return (
      <main class="page">
        <p class="error" role="alert">
          The controller did not answer ({sessionError.value}).
        </p>
        <button type="button" onClick={() => void loadSession()}>
          Try again
        </button>
      </main>
    );
  if (user === undefined) return <p class="loading">Loading…</p>;
  if (user === null || location.value.path === SIGN_IN_PATH) return <SignInPage />;
  return (
    // biome-ignore lint/a11y/noStaticElementInteractions lint/a11y/useKeyWithClickEvents: delegates link clicks; links stay keyboard reachable.
    <div class="shell" onClick={onLinkClick}>
      <a class="skip" href="#content">
        Skip to content
      </a>
      <header class="topbar">
        <a class="brand" href="/">
          Earshot
        </a>
        <nav aria-label="Main">
          <ul>
            {visibleNav().map((item) => (
              <li key={item.href}>
                <a href={item.href} aria-current={item.page === current ? 'page' : undefined}>
                  {item.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <StreamStatus />
        <span class="tz" title="Times are shown in this time zone">
          {TIME_ZONE}
        </span>
        <ThemeSwitch />
        {/* Every user's own API tokens are here, whether or not their role manages access. */}
        <a
          class="user"
          href="/access/tokens"
          title="Your API tokens"
          aria-label={`${user.user.displayName || user.user.username}: your API tokens`}
        >
          {user.user.displayName || user.user.username}
        </a>
        <SignOutButton />
      </header>
      <main id="content" tabIndex={-1}>
        {!current ? (
          <NotFoundPage />
        ) : allowed(current) ? (
          <PageFrame key={current.title} loader={current.load} title={current.title} />
        ) : (
          <NotFoundPage reason={`Your role cannot use ${current.title}.`} />
        )}
      </main>
    </div>
  );
}
