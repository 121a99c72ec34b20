/** The console's theme choice read back from storage: only light or dark are kept; anything else follows the system. */
import { describe, expect, it } from 'vitest';
import { parseTheme, THEME_CHOICES, THEME_KEY } from '../../controller/console/src/theme.js';

describe('console theme', () => {
  it('reads back light and dark; nothing, or anything else, follows the system', () => {
    expect(parseTheme('light')).toBe('light');
    expect(parseTheme('dark')).toBe('dark');
    for (const other of [null, undefined, '', 'system', 'DARK', 'blue', '{"token":"x"}'])
      expect(parseTheme(other)).toBe('system');
  });

  it('offers system, light and dark, each labelled; the key names a preference, nothing secret', () => {
    expect(THEME_CHOICES.map((c) => c.value)).toEqual(['system', 'light', 'dark']);
    expect(THEME_CHOICES.every((c) => c.label.length > 0)).toBe(true);
    expect(THEME_KEY).not.toMatch(/token|secret|csrf|session/i);
  });
});
