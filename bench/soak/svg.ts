/**
 * A line chart as a standalone SVG file, written by hand (no plotting dependency for one
 * chart): RSS over time, one line per role, the warm-up shaded, axes with round ticks and
 * labels, a legend naming each role with its slope.
 */
export interface Series {
  name: string;
  /** [minutes since round 0, MiB]. */
  points: Array<[number, number]>;
}

const W = 1100;
const H = 560;
const M = { left: 70, right: 330, top: 58, bottom: 55 };
/** Distinguishable on white, in order (Tableau 10). */
const COLOURS = [
  '#4e79a7',
  '#f28e2b',
  '#e15759',
  '#76b7b2',
  '#59a14f',
  '#edc948',
  '#b07aa1',
  '#ff9da7',
  '#9c755f',
  '#bab0ac',
];

export function rssChart(o: {
  title: string;
  subtitle: string;
  series: Series[];
  warmUpMin: number;
  /** Legend text per series (e.g. "ledger +0.12 MiB/min, flat"). */
  labels: string[];
}): string {
  const all = o.series.flatMap((s) => s.points);
  const xMax = niceCeil(Math.max(1 / 60, ...all.map((p) => p[0])));
  const xMin = Math.min(0, ...all.map((p) => p[0]));
  const yMax = niceCeil(Math.max(1, ...all.map((p) => p[1])) * 1.05);
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const x = (t: number) => M.left + ((t - xMin) / (xMax - xMin)) * pw;
  const y = (v: number) => M.top + ph - (v / yMax) * ph;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${M.left}" y="22" font-size="15" font-weight="bold">${esc(o.title)}</text>`,
    `<text x="${M.left}" y="42" fill="#555">${esc(o.subtitle)}</text>`,
  ];
  // Warm-up: left out of the slopes.
  if (o.warmUpMin > xMin) {
    const w = x(Math.min(o.warmUpMin, xMax)) - x(xMin);
    out.push(
      `<rect x="${x(xMin)}" y="${M.top}" width="${w.toFixed(1)}" height="${ph}" fill="#eee"/>`,
      `<text x="${(x(xMin) + 4).toFixed(1)}" y="${M.top + 14}" fill="#888">warm-up</text>`,
    );
  }
  // Grid and ticks.
  for (const v of ticks(0, yMax)) {
    out.push(
      `<line x1="${M.left}" x2="${M.left + pw}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#ddd"/>`,
      `<text x="${M.left - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${fmt(v)}</text>`,
    );
  }
  for (const t of ticks(xMin, xMax)) {
    out.push(
      `<line x1="${x(t).toFixed(1)}" x2="${x(t).toFixed(1)}" y1="${M.top + ph}" y2="${M.top + ph + 5}" stroke="#333"/>`,
      `<text x="${x(t).toFixed(1)}" y="${M.top + ph + 18}" text-anchor="middle">${fmt(t)}</text>`,
    );
  }
  out.push(
    `<rect x="${M.left}" y="${M.top}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`,
    `<text x="${M.left + pw / 2}" y="${H - 12}" text-anchor="middle">minutes since round 0</text>`,
    `<text transform="translate(18 ${M.top + ph / 2}) rotate(-90)" text-anchor="middle">resident memory (VmRSS), MiB</text>`,
  );
  // One polyline per role, and its legend entry.
  o.series.forEach((s, i) => {
    const colour = COLOURS[i % COLOURS.length]!;
    const pts = s.points.map(([t, v]) => `${x(t).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
    out.push(`<polyline points="${pts}" fill="none" stroke="${colour}" stroke-width="1.5"/>`);
    const ly = M.top + 10 + i * 20;
    const lx = M.left + pw + 14;
    out.push(
      `<line x1="${lx}" x2="${lx + 18}" y1="${ly}" y2="${ly}" stroke="${colour}" stroke-width="3"/>`,
      `<text x="${lx + 24}" y="${ly + 4}">${esc(o.labels[i] ?? s.name)}</text>`,
    );
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

/** The smallest of 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 × 10^k at or above v: little empty room. */
function niceCeil(v: number): number {
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * p >= v - 1e-9) return m * p;
  return 10 * p;
}

/** About five round values in [lo, hi]. */
function ticks(lo: number, hi: number): number[] {
  const raw = (hi - lo) / 5;
  const p = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw) ?? 10 * p;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(v);
  return out;
}

function fmt(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(Math.abs(v) < 1 ? 2 : 1);
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
