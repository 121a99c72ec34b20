/**
 * The settings page's pure parts: the difference between two revisions of an object's body,
 * the form's fields built from a body as the API returns it (and read back into a change), and
 * the page's state in the URL.
 */

/** A settings family: its URL segment and a label for people. */
export interface Family {
  name: string;
  label: string;
  /** One object, e.g. `recording profile`. */
  title: string;
}

export interface DiffEntry {
  /** Dotted path of the field, e.g. `thresholds.silenceDbfs`. */
  path: string;
  kind: 'added' | 'removed' | 'changed';
  before?: unknown;
  after?: unknown;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Same JSON value (arrays in order, objects whatever their key order). */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((value, i) => sameValue(value, b[i]));
  if (isObject(a) && isObject(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].every((key) => key in a && key in b && sameValue(a[key], b[key]));
  }
  return false;
}

/**
 * What changed from `before` to `after`: one entry per leaf field (nested objects are walked,
 * arrays compared whole), sorted by path. Equal bodies give no entries.
 */
export function diffBodies(before: unknown, after: unknown, prefix = ''): DiffEntry[] {
  if (!isObject(before) || !isObject(after)) {
    if (sameValue(before, after)) return [];
    if (before === undefined) return [{ path: prefix, kind: 'added', after }];
    if (after === undefined) return [{ path: prefix, kind: 'removed', before }];
    return [{ path: prefix, kind: 'changed', before, after }];
  }
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  return keys.flatMap((key) => diffBodies(before[key], after[key], prefix ? `${prefix}.${key}` : key));
}

/** A value as one line for people: strings bare, the rest as JSON; nothing as `—`. */
export function shownValue(value: unknown): string {
  if (value === undefined) return '—';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** One control of the form: a body field, its kind from the value the API returned. */
export interface Field {
  key: string;
  kind: 'boolean' | 'number' | 'text' | 'json';
  /** What the control shows (a checkbox's "true"/"false"). */
  text: string;
}

/**
 * The form's fields from a body as the API returns it: booleans as checkboxes, numbers as
 * number inputs, strings as text, anything else (null, lists, objects) as JSON text.
 * Secret fields the API hides (`<field>Set` beside a null `<field>`) are left out.
 */
export function fieldsOf(body: Record<string, unknown>): Field[] {
  return Object.entries(body)
    .filter(([key, value]) => !(value === null && typeof body[`${key}Set`] === 'boolean'))
    .filter(([key]) => !(key.endsWith('Set') && key.slice(0, -3) in body))
    .map(([key, value]) => {
      if (typeof value === 'boolean') return { key, kind: 'boolean', text: String(value) };
      if (typeof value === 'number') return { key, kind: 'number', text: String(value) };
      if (typeof value === 'string') return { key, kind: 'text', text: value };
      return { key, kind: 'json', text: JSON.stringify(value) };
    });
}

/**
 * The body change the form holds: only fields whose value differs from `body` (an update
 * keeps what it leaves out). Throws naming the field when a number or JSON text is not one.
 */
export function changeFrom(
  body: Record<string, unknown>,
  fields: readonly Field[],
  texts: Record<string, string>,
): Record<string, unknown> {
  const change: Record<string, unknown> = {};
  for (const field of fields) {
    const text = texts[field.key] ?? field.text;
    let value: unknown;
    if (field.kind === 'boolean') value = text === 'true';
    else if (field.kind === 'text') value = text;
    else if (field.kind === 'number') {
      value = text.trim() === '' ? Number.NaN : Number(text);
      if (!Number.isFinite(value)) throw new Error(`${field.key}: not a number`);
    } else {
      try {
        value = JSON.parse(text);
      } catch {
        throw new Error(`${field.key}: not valid JSON`);
      }
    }
    if (!sameValue(value, body[field.key])) change[field.key] = value;
  }
  return change;
}

/** The page's state in the URL: the family, the object, the two revisions compared. */
export interface SettingsView {
  family: string | undefined;
  id: string | undefined;
  from: number | undefined;
  to: number | undefined;
}

const revisionOf = (value: string | null) => {
  const n = value === null ? Number.NaN : Number(value);
  return Number.isInteger(n) && n >= 1 ? n : undefined;
};

export function settingsViewFrom(search: string): SettingsView {
  const params = new URLSearchParams(search);
  const family = params.get('family') ?? '';
  const id = params.get('id') ?? '';
  return {
    family: /^[a-z][a-z0-9-]*$/.test(family) ? family : undefined,
    id: /^[0-9a-fA-F-]{36}$/.test(id) ? id : undefined,
    from: revisionOf(params.get('from')),
    to: revisionOf(params.get('to')),
  };
}

export function settingsSearch(view: Partial<SettingsView>): string {
  const params = new URLSearchParams();
  if (view.family) params.set('family', view.family);
  if (view.id) params.set('id', view.id);
  if (view.from !== undefined) params.set('from', String(view.from));
  if (view.to !== undefined) params.set('to', String(view.to));
  const text = params.toString();
  return text ? `?${text}` : '';
}
