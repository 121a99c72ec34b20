import { describe, expect, it } from 'vitest';
import {
  apiQuery,
  formatBytes,
  formatDuration,
  instantOfLocalInput,
  jumpedMinute,
  jumpTo,
  libraryFiltersFromSearch,
  localInputOf,
  pageCursorFromSearch,
  parseTags,
  peakColumns,
  peakPointsFor,
  searchFromLibraryFilters,
  searchFromLibraryPage,
  timeAtX,
  withFilter,
  xAtTime,
} from '../../controller/console/src/recordings-model.js';

describe('recordings list state in the URL', () => {
  it('reads the API filters from a query and writes them back in a stable order', () => {
    const filters = libraryFiltersFromSearch(
      '?tag=board&state=completed&nodeId=hq-1&from=2026-01-01T00:00:00Z',
    );
    expect(filters).toEqual({
      nodeId: 'hq-1',
      state: 'completed',
      tag: 'board',
      from: '2026-01-01T00:00:00.000Z',
    });
    expect(searchFromLibraryFilters(filters)).toBe(
      '?nodeId=hq-1&state=completed&tag=board&from=2026-01-01T00%3A00%3A00.000Z',
    );
    expect(libraryFiltersFromSearch(searchFromLibraryFilters(filters))).toEqual(filters);
  });

  it('keeps a search, a site and a format, in that order with the rest', () => {
    const filters = libraryFiltersFromSearch('?container=flac&state=completed&q=choir+mass&siteId=site-1');
    expect(filters).toEqual({ q: 'choir mass', siteId: 'site-1', state: 'completed', container: 'flac' });
    expect(searchFromLibraryFilters(filters)).toBe(
      '?q=choir+mass&siteId=site-1&state=completed&container=flac',
    );
  });

  it('keeps the page’s cursor after the filters, and only a well-formed one', () => {
    const filters = libraryFiltersFromSearch('?state=failed&cursor=eyJ4IjoxfQ');
    expect(pageCursorFromSearch('?state=failed&cursor=eyJ4IjoxfQ')).toBe('eyJ4IjoxfQ');
    expect(searchFromLibraryPage(filters, 'eyJ4IjoxfQ')).toBe('?state=failed&cursor=eyJ4IjoxfQ');
    expect(searchFromLibraryPage({}, 'eyJ4IjoxfQ')).toBe('?cursor=eyJ4IjoxfQ');
    expect(searchFromLibraryPage(filters, undefined)).toBe('?state=failed');
    expect(pageCursorFromSearch('?cursor=a%20b')).toBeUndefined();
  });

  it('leaves out what the API would refuse', () => {
    expect(libraryFiltersFromSearch(`?container=mp3&siteId=a/b&q=${'x'.repeat(201)}`)).toEqual({});
    expect(libraryFiltersFromSearch('?state=nope&nodeId=a/b&to=yesterday&tag=&cursor=x')).toEqual({});
    expect(searchFromLibraryFilters({})).toBe('');
  });

  it('sets and clears one filter', () => {
    expect(withFilter({ state: 'failed' }, 'tag', 'x')).toEqual({ state: 'failed', tag: 'x' });
    expect(withFilter({ state: 'failed', tag: 'x' }, 'tag', undefined)).toEqual({ state: 'failed' });
  });

  it('jumps to a minute: `to` is the end of that minute, shown back as the minute', () => {
    const jumped = jumpTo({ state: 'completed' }, '2026-03-04T10:15:00.000Z');
    expect(jumped).toEqual({ state: 'completed', to: '2026-03-04T10:16:00.000Z' });
    expect(jumpedMinute(jumped)).toBe('2026-03-04T10:15:00.000Z');
    expect(jumpTo(jumped, undefined)).toEqual({ state: 'completed' });
    expect(jumpedMinute({})).toBeUndefined();
  });

  it('round-trips a datetime-local value in the operator time zone', () => {
    const instant = instantOfLocalInput('2026-03-04T10:15');
    expect(instant).toBeDefined();
    expect(localInputOf(instant)).toBe('2026-03-04T10:15');
    expect(instantOfLocalInput('')).toBeUndefined();
    expect(localInputOf('nonsense')).toBe('');
  });

  it('builds the API query with a page', () => {
    expect(apiQuery({ tag: 'a b' }, { limit: 50, cursor: 'c1' })).toBe('?tag=a+b&limit=50&cursor=c1');
    expect(apiQuery({})).toBe('');
    expect(apiQuery({}, { format: 'csv' })).toBe('?format=csv');
    expect(apiQuery({ nodeId: 'n1' }, { format: 'ndjson' })).toBe('?nodeId=n1&format=ndjson');
  });
});

describe('recordings formatting', () => {
  it('sizes, durations and tags', () => {
    expect(formatBytes(null)).toBe('—');
    expect(formatBytes(999)).toBe('999 B');
    expect(formatBytes(1_500_000)).toBe('1.5 MB');
    expect(formatBytes(691_200_000)).toBe('691 MB');
    expect(formatDuration(7_000)).toBe('0:07');
    expect(formatDuration(723_000)).toBe('12:03');
    expect(formatDuration(7_200_000)).toBe('2:00:00');
    expect(parseTags(' a, b ,,a\nc ')).toEqual(['a', 'b', 'c']);
  });
});

describe('waveform drawing', () => {
  it('one column per point: extremes around the centre line, at least one pixel', () => {
    const columns = peakColumns([-1, 0, -0.5], [1, 0, 0.5], 3, 100);
    expect(columns).toEqual([
      { top: 0, bottom: 100 },
      { top: 50, bottom: 51 },
      { top: 25, bottom: 75 },
    ]);
  });

  it('folds more points than pixels (extremes kept) and spreads fewer', () => {
    const folded = peakColumns([0, -1, 0, 0], [0.5, 0, 0, 0.25], 2, 100);
    expect(folded).toEqual([
      { top: 25, bottom: 100 },
      { top: 37, bottom: 50 },
    ]);
    expect(peakColumns([-0.5], [0.5], 4, 10)).toHaveLength(4);
    expect(peakColumns([], [], 4, 10)).toEqual([]);
  });

  it('asks for one point per device pixel within the API limit', () => {
    expect(peakPointsFor(800, 2)).toBe(1600);
    expect(peakPointsFor(10_000, 1)).toBe(8192);
    expect(peakPointsFor(0, 1)).toBe(1);
  });

  it('maps a click to a time and the time back to the playhead', () => {
    expect(timeAtX(250, 1000, 7200)).toBe(1800);
    expect(timeAtX(-5, 1000, 7200)).toBe(0);
    expect(timeAtX(2000, 1000, 7200)).toBe(7200);
    expect(xAtTime(1800, 1000, 7200)).toBe(250);
    expect(xAtTime(5, 1000, 0)).toBe(0);
  });
});
