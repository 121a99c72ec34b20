/** The list pages' JSON writers write what JSON.stringify writes (core/json-text.ts). */
import { describe, expect, it } from 'vitest';
import { jsonBool, jsonNumber, jsonPage, jsonText } from '../../controller/src/core/json-text.js';

describe('json-text', () => {
  it('writes every string as JSON.stringify does: quotes, backslashes, control characters, surrogates', () => {
    const strings = [
      '',
      'plain',
      'été 🎙',
      '"quoted"',
      'back\\slash',
      '\u2028\u2029',
      '\ud83c', // a lone high surrogate
      'x\udc00y', // a lone low surrogate
      '\ud83c\udf99', // a pair
      ...Array.from({ length: 0x80 }, (_, c) => `a${String.fromCharCode(c)}b`),
    ];
    for (const s of strings) expect(jsonText(s)).toBe(JSON.stringify(s));
    expect(jsonText(null)).toBe('null');
  });

  it('writes numbers, booleans and pages as JSON.stringify does', () => {
    for (const n of [0, -0, 1.5, -23.123456789012344, 0.1 + 0.2, 1e21, -1e-7, 2 ** 53 + 2])
      expect(jsonNumber(n)).toBe(JSON.stringify(n));
    expect(jsonNumber(null)).toBe('null');
    expect([jsonBool(1), jsonBool(0), jsonBool(true), jsonBool(false)]).toEqual([
      'true',
      'false',
      'true',
      'false',
    ]);
    expect(JSON.parse(jsonPage(['{"a":1}', '{"b":"c"}'], 'next "1"'))).toEqual({
      data: [{ a: 1 }, { b: 'c' }],
      nextCursor: 'next "1"',
    });
    expect(jsonPage([], null)).toBe(JSON.stringify({ data: [], nextCursor: null }));
  });
});
