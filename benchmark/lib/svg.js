'use strict';
/**
 * A hand-rolled SVG chart of the headline workloads: one panel per row, with
 * bars for walnut, the best peer and the physical limit, each labelled with
 * its figure. No browser or plotting library needed.
 */
const { withUnit } = require('./format');

const HEADLINES = [
  [/^W1$/, (r) => r.size === 1024, 'W1 append 1 KiB (non-durable)'],
  [/^W2$/, (r) => r.size === 65536, 'W2 batches of 64 KiB (non-durable)'],
  [/^W3$/, (r) => r.size === 1024, 'W3 durable append 1 KiB, p50'],
  [/^W4$/, (r) => /^64 in flight/.test(r.row), 'W4 durable, 64 in flight'],
  [/^W5$/, () => true, 'W5 open loop'],
  [/^W6$/, (r) => /^clean/.test(r.row), 'W6 open a clean log'],
  [/^W6$/, (r) => /^torn/.test(r.row), 'W6 recover a torn tail'],
  [/^W8$/, (r) => /^random read/.test(r.row), 'W8 random read(i), 1 KiB'],
];

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** The chart as SVG text, or undefined when no headline row was measured. */
function chart(rowList, subtitle) {
  const panels = [];
  for (const [id, pred, title] of HEADLINES) {
    const r = rowList.find((x) => id.test(x.id) && pred(x));
    if (r) panels.push({ r, title: r.id === 'W5' ? `${title} ${r.row.split(',')[0]}, p50` : title });
  }
  if (panels.length === 0) return undefined;
  const W = 960;
  const cols = 2;
  const pw = W / cols;
  const ph = 132;
  const top = 56;
  const H = top + Math.ceil(panels.length / cols) * ph + 10;
  const s = [];
  s.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif">`);
  s.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  s.push(`<text x="16" y="26" font-size="18" font-weight="bold" fill="#222">walnut against the best peer and the physical limit</text>`);
  s.push(`<text x="16" y="44" font-size="11" fill="#666">${esc(subtitle)}</text>`);
  panels.forEach(({ r, title }, k) => {
    const x0 = (k % cols) * pw + 16;
    const y0 = top + Math.floor(k / cols) * ph;
    const bars = [
      ['walnut', r.walnut, '#3b7d3a'],
      [r.bestPeer ? r.bestPeer.short : 'best peer', r.bestPeer, '#9a9a9a'],
      ['limit', r.limit, '#d9d9d9'],
    ].filter(([, c]) => c);
    const max = Math.max(...bars.map(([, c]) => c.median));
    const hint = r.better === 'higher' ? 'higher is better' : 'lower is better';
    s.push(`<text x="${x0}" y="${y0 + 16}" font-size="13" font-weight="bold" fill="#222">${esc(title)}</text>`);
    s.push(`<text x="${x0 + pw - 40}" y="${y0 + 16}" font-size="10" fill="#888" text-anchor="end">${hint}</text>`);
    const labelW = 110;
    const barMax = pw - labelW - 150;
    bars.forEach(([label, c, color], i) => {
      const y = y0 + 28 + i * 30;
      const w = Math.max(1, (c.median / max) * barMax);
      s.push(`<text x="${x0}" y="${y + 15}" font-size="11" fill="#333">${esc(label.length > 17 ? `${label.slice(0, 16)}…` : label)}</text>`);
      s.push(`<rect x="${x0 + labelW}" y="${y + 3}" width="${w.toFixed(1)}" height="16" fill="${color}" stroke="#666" stroke-width="0.5"/>`);
      s.push(`<text x="${x0 + labelW + w + 6}" y="${y + 15}" font-size="11" fill="#222">${esc(withUnit(c.median, c.unit))}</text>`);
    });
  });
  s.push('</svg>');
  return s.join('\n');
}

module.exports = { chart };
