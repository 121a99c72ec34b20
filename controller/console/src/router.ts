/**
 * The console's router: the location as a signal, links and `navigate` through the History API
 * (back and forward work), so every page has a URL to come back to.
 */
import { signal } from '@preact/signals';

export const location = signal(currentLocation());

function currentLocation(): { path: string; search: string } {
  return { path: window.location.pathname, search: window.location.search };
}

window.addEventListener('popstate', () => {
  location.value = currentLocation();
});

export function navigate(to: string, options: { replace?: boolean } = {}): void {
  if (options.replace) window.history.replaceState(null, '', to);
  else window.history.pushState(null, '', to);
  location.value = currentLocation();
}

/** The current path and query, as `next=` carries it through sign-in. */
export function here(): string {
  return `${location.value.path}${location.value.search}`;
}

/** A same-origin path only: `next=` never sends the operator to another site. */
export function safeNext(next: string | null): string {
  // `//host` and `/\host` both leave the origin.
  return next !== null && /^\/(?![/\\])/.test(next) ? next : '/';
}

/** Plain left clicks on same-origin links navigate in place; others (new tab, …) go to the browser. */
export function onLinkClick(event: MouseEvent): void {
  const anchor = (event.target as Element | null)?.closest?.('a');
  if (!anchor || anchor.target || anchor.origin !== window.location.origin) return;
  if (anchor.getAttribute('href')?.startsWith('#')) return; // in-page (the skip link)
  if (anchor.hasAttribute('download')) return; // a file (an export): the browser downloads it
  if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  navigate(`${anchor.pathname}${anchor.search}`);
}
