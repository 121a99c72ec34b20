/** The settings page's model: revision diffs, the form, the URL. */
import { describe, expect, it } from 'vitest';
import {
  changeFrom,
  diffBodies,
  fieldsOf,
  sameValue,
  settingsSearch,
  settingsViewFrom,
  shownValue,
} from '../../controller/console/src/settings-model.js';

describe('diffBodies', () => {
  it('lists changed, added and removed leaf fields by path, nested objects walked', () => {
    const before = { a: 1, b: 'x', nested: { c: true, d: [1, 2] }, gone: null };
    const after = { a: 2, b: 'x', nested: { c: true, d: [1, 3], e: 'new' } };
    expect(diffBodies(before, after)).toEqual([
      { path: 'a', kind: 'changed', before: 1, after: 2 },
      { path: 'gone', kind: 'removed', before: null },
      { path: 'nested.d', kind: 'changed', before: [1, 2], after: [1, 3] },
      { path: 'nested.e', kind: 'added', after: 'new' },
    ]);
  });

  it('gives nothing for equal bodies, whatever the key order', () => {
    expect(diffBodies({ a: 1, b: { x: [1, { y: 2 }] } }, { b: { x: [1, { y: 2 }] }, a: 1 })).toEqual([]);
  });

  it('treats null and a missing field apart, and an object replaced by a value as a change', () => {
    expect(diffBodies({ a: null }, {})).toEqual([{ path: 'a', kind: 'removed', before: null }]);
    expect(diffBodies({ a: { b: 1 } }, { a: 3 })).toEqual([
      { path: 'a', kind: 'changed', before: { b: 1 }, after: 3 },
    ]);
  });

  it('compares arrays whole and in order', () => {
    expect(sameValue([1, 2], [2, 1])).toBe(false);
    expect(sameValue([1, [2]], [1, [2]])).toBe(true);
    expect(sameValue({ a: undefined }, {})).toBe(false);
  });
});

describe('the value form', () => {
  const body = {
    container: 'wav',
    sampleRate: 48000,
    keepTagged: true,
    channels: null,
    channelMap: [1, 2],
    secretAccessKey: null,
    secretAccessKeySet: true,
  };

  it('builds a control per field from the value returned, secrets left out', () => {
    expect(fieldsOf(body)).toEqual([
      { key: 'container', kind: 'text', text: 'wav' },
      { key: 'sampleRate', kind: 'number', text: '48000' },
      { key: 'keepTagged', kind: 'boolean', text: 'true' },
      { key: 'channels', kind: 'json', text: 'null' },
      { key: 'channelMap', kind: 'json', text: '[1,2]' },
    ]);
  });

  it('reads back only what changed, typed as the API expects', () => {
    const fields = fieldsOf(body);
    expect(changeFrom(body, fields, {})).toEqual({});
    expect(
      changeFrom(body, fields, {
        sampleRate: '44100',
        keepTagged: 'false',
        channelMap: '[2, 1]',
        container: 'wav',
      }),
    ).toEqual({ sampleRate: 44100, keepTagged: false, channelMap: [2, 1] });
  });

  it('names the field whose text is not a number or not JSON', () => {
    const fields = fieldsOf(body);
    expect(() => changeFrom(body, fields, { sampleRate: 'fast' })).toThrow('sampleRate: not a number');
    expect(() => changeFrom(body, fields, { sampleRate: ' ' })).toThrow('sampleRate');
    expect(() => changeFrom(body, fields, { channelMap: '[1,' })).toThrow('channelMap: not valid JSON');
  });

  it('shows values on one line', () => {
    expect(shownValue('wav')).toBe('wav');
    expect(shownValue([1, 2])).toBe('[1,2]');
    expect(shownValue(null)).toBe('null');
    expect(shownValue(undefined)).toBe('—');
  });
});

describe('the settings URL', () => {
  const id = '0b4e7c1a-1d2f-4a5b-8c9d-0e1f2a3b4c5d';
  it('round-trips family, object and the compared revisions', () => {
    const view = { family: 'watchdog-policies', id, from: 2, to: 5 };
    expect(settingsViewFrom(settingsSearch(view))).toEqual(view);
    expect(settingsSearch({})).toBe('');
  });

  it('drops what is not a family, an id or a revision', () => {
    expect(settingsViewFrom('?family=../x&id=nope&from=0&to=1.5')).toEqual({
      family: undefined,
      id: undefined,
      from: undefined,
      to: undefined,
    });
  });
});
