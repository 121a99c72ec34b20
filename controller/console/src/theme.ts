/**
 * Light, dark or the system's choice: picked in the header, remembered in `localStorage`
 * (a display preference, nothing secret: no token is ever kept in web storage), applied as
 * `data-theme` on <html>, which styles.css honours (without it, `prefers-color-scheme`
 * decides). Applied at the entry module's start, before the first render, so a dark choice
 * never flashes light (the Content-Security-Policy forbids an inline script in the shell).
 */
import { signal } from '@preact/signals';

export type ThemeChoice = 'system' | 'light' | 'dark';

export const THEME_CHOICES: readonly { value: ThemeChoice; label: string }[] = [
  { value: 'system', label: 'System theme' },
  { value: 'light', label: 'Light theme' },
  { value: 'dark', label: 'Dark theme' },
];

/** The one key the console keeps in web storage. */
export const THEME_KEY = 'earshot.theme';

/** A stored value read back: anything unknown (or nothing) follows the system. */
export function parseTheme(value: string | null | undefined): ThemeChoice {
  return value === 'light' || value === 'dark' ? value : 'system';
}

function stored(): ThemeChoice {
  try {
    return parseTheme(window.localStorage.getItem(THEME_KEY));
  } catch {
    return 'system'; // storage refused (a privacy mode): follow the system
  }
}

export const theme = signal<ThemeChoice>(stored());

function apply(choice: ThemeChoice): void {
  document.documentElement.dataset.theme = choice;
}

/** Puts the remembered choice on <html>; the entry module calls it before the first render. */
export function applyStoredTheme(): void {
  apply(theme.value);
}

export function setTheme(choice: ThemeChoice): void {
  theme.value = choice;
  apply(choice);
  try {
    if (choice === 'system') window.localStorage.removeItem(THEME_KEY);
    else window.localStorage.setItem(THEME_KEY, choice);
  } catch {
    // Not remembered, still applied.
  }
}
