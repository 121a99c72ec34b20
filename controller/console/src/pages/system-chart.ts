/**
 * The health history chart (uPlot), its own chunk: loaded by the system page only when there
 * is history to draw, so the page itself stays small. Drawn in the theme's colours, again when
 * the theme changes (the header's switch, or the system's when it follows that).
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { HistorySeries } from '../system-model.js';

const css = (name: string, fallback: string) =>
  getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;

const widthOf = (into: HTMLElement) => Math.max(280, into.clientWidth);

function options(width: number): uPlot.Options {
  const text = css('--text', '#1b1f24');
  const line = css('--line', '#d8dde3');
  const axis = { stroke: text, grid: { stroke: line, width: 1 }, ticks: { stroke: line, width: 1 } };
  return {
    width,
    height: 240,
    scales: { x: { time: true }, nodes: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
    series: [
      {},
      { label: 'Nodes online', scale: 'nodes', stroke: css('--ok', '#1d7a3a'), width: 2 },
      { label: 'Nodes total', scale: 'nodes', stroke: css('--muted', '#5b6470'), width: 1, dash: [4, 4] },
      { label: 'Database ms', scale: 'ms', stroke: css('--accent', '#1f5fbf'), width: 1 },
    ],
    axes: [
      axis,
      // Nodes are counted: whole-number ticks only.
      {
        ...axis,
        scale: 'nodes',
        label: 'Nodes',
        incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000],
      },
      { ...axis, scale: 'ms', side: 1, label: 'ms', grid: { show: false } },
    ],
  };
}

/**
 * Draws `series` into `into`, as wide as it is (and again when it is resized or the theme
 * changes); returns the stop (destroys the chart).
 */
export function drawHistory(into: HTMLElement, series: HistorySeries): () => void {
  const data: uPlot.AlignedData = [series.x, series.online, series.total, series.latencyMs];
  let plot = new uPlot(options(widthOf(into)), data, into);
  const redraw = () => {
    plot.destroy();
    plot = new uPlot(options(widthOf(into)), data, into);
  };
  const resized = new ResizeObserver(() => {
    const width = widthOf(into);
    if (width !== plot.width) plot.setSize({ width, height: plot.height });
  });
  resized.observe(into);
  const themed = new MutationObserver(redraw);
  themed.observe(document.documentElement, { attributes: true, attributeFilter: ['data-theme'] });
  const dark = window.matchMedia('(prefers-color-scheme: dark)');
  dark.addEventListener('change', redraw);
  return () => {
    resized.disconnect();
    themed.disconnect();
    dark.removeEventListener('change', redraw);
    plot.destroy();
  };
}
