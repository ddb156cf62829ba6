/**
 * Minimal, dependency-free SVG charts for the self-contained HTML reports: a line chart
 * of several series over a shared x axis. Text is escaped; numbers are formatted once.
 */
export interface LineSeries {
  name: string;
  values: readonly number[];
  color: string;
  dashed?: boolean;
}

export function escapeXml(s: string): string {
  return s.replace(
    /[<>&"']/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

export function lineChart(opts: {
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly LineSeries[];
  width?: number;
  height?: number;
}): string {
  const W = opts.width ?? 460;
  const H = opts.height ?? 260;
  const L = 52;
  const R = 12;
  const T = 28;
  const B = 40;
  const all = opts.series.flatMap((s) => s.values.filter(Number.isFinite));
  const n = Math.max(...opts.series.map((s) => s.values.length), 1);
  let lo = Math.min(0, ...all);
  let hi = Math.max(1, ...all);
  if (hi === lo) hi = lo + 1;
  const pad = (hi - lo) * 0.05;
  lo -= pad;
  hi += pad;
  const x = (i: number) => L + (n === 1 ? 0 : (i / (n - 1)) * (W - L - R));
  const y = (v: number) => T + (1 - (v - lo) / (hi - lo)) * (H - T - B);
  const ticks = niceTicks(lo, hi, 5);
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img">`,
  );
  parts.push(`<title>${escapeXml(opts.title)}</title>`);
  parts.push(
    `<text x="${W / 2}" y="16" text-anchor="middle" font-size="13" font-weight="600">${escapeXml(opts.title)}</text>`,
  );
  for (const t of ticks) {
    parts.push(
      `<line x1="${L}" x2="${W - R}" y1="${y(t).toFixed(1)}" y2="${y(t).toFixed(1)}" stroke="#e5e5e5"/>`,
    );
    parts.push(
      `<text x="${L - 6}" y="${(y(t) + 4).toFixed(1)}" text-anchor="end" font-size="10">${fmt(t)}</text>`,
    );
  }
  const step = Math.max(1, Math.ceil(n / 10));
  for (let i = 0; i < n; i += step) {
    parts.push(
      `<text x="${x(i).toFixed(1)}" y="${H - B + 14}" text-anchor="middle" font-size="10">${i}</text>`,
    );
  }
  parts.push(`<line x1="${L}" x2="${L}" y1="${T}" y2="${H - B}" stroke="#888"/>`);
  parts.push(`<line x1="${L}" x2="${W - R}" y1="${H - B}" y2="${H - B}" stroke="#888"/>`);
  parts.push(
    `<text x="${(L + W - R) / 2}" y="${H - 6}" text-anchor="middle" font-size="11">${escapeXml(opts.xLabel)}</text>`,
  );
  parts.push(
    `<text x="12" y="${(T + H - B) / 2}" text-anchor="middle" font-size="11" transform="rotate(-90 12 ${(T + H - B) / 2})">${escapeXml(opts.yLabel)}</text>`,
  );
  opts.series.forEach((s, k) => {
    const pts = s.values
      .map((v, i) => (Number.isFinite(v) ? `${x(i).toFixed(1)},${y(v).toFixed(1)}` : null))
      .filter((p): p is string => p !== null)
      .join(' ');
    parts.push(
      `<polyline fill="none" stroke="${s.color}" stroke-width="1.8"${s.dashed ? ' stroke-dasharray="5 3"' : ''} points="${pts}"/>`,
    );
    parts.push(
      `<rect x="${L + 8 + k * 120}" y="${T + 2}" width="10" height="3" fill="${s.color}"/>`,
    );
    parts.push(
      `<text x="${L + 22 + k * 120}" y="${T + 7}" font-size="10">${escapeXml(s.name)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('');
}

function niceTicks(lo: number, hi: number, count: number): number[] {
  const span = hi - lo;
  const raw = span / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((f) => f * mag).find((s) => span / s <= count) ?? 10 * mag;
  const out: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi; t += step) out.push(Number(t.toFixed(10)));
  return out;
}

function fmt(v: number): string {
  return Math.abs(v) >= 1000 ? v.toExponential(1) : String(Number(v.toPrecision(3)));
}
