/** The header's theme switch: follow the system, light or dark (theme.ts remembers and applies it). */
import { setTheme, THEME_CHOICES, type ThemeChoice, theme } from './theme.js';

export function ThemeSwitch() {
  return (
    <span class="theme-switch">
      <label for="theme-choice" class="visually-hidden">
        Theme
      </label>
      <select
        id="theme-choice"
        value={theme.value}
        onChange={(event) => setTheme(event.currentTarget.value as ThemeChoice)}
      >
        {THEME_CHOICES.map((choice) => (
          <option key={choice.value} value={choice.value}>
            {choice.label}
          </option>
        ))}
      </select>
    </span>
  );
}
