// The admission-time distributions of one `npm run bench:cluster` run, drawn as an SVG from its
// own results: one panel per workload, one curve per setup and round (the share of creations
// answered within x ms, x on a log scale, y on a logit scale so the median and the tail show). Steady rates show the client's time per creation; bursts, whose
// pods a controller creates, the API server's own (its audit log). A bench plot, not a dashboard.
import { QUANTILES, SETUPS, type Row, type Setup } from './cluster-report';

const COLOR: Record<Setup, string> = { none: '#888888', noop: '#2b5797', replay: '#3a9a4a', ours: '#d9661f', always: '#9b2d8e' };
const LABEL: Record<Setup, string> = {
  none: 'no webhook',
  noop: 'no-op webhook',
  replay: 'no-op with our patch',
  ours: 'pando-webhook',
  always: 'pando-webhook, no matchCondition',
};
/**
 * The share of creations on a logit scale: 10 %, 50 % and 90 % one step apart, 99 % and 99.9 % a
 * step each above, so the median and the tail both show; the fastest and slowest drawn just
 * beyond them.
 */
const SHARE_MIN = -1.6;
const SHARE_MAX = 3.4;
const stretch = (share: number) =>
  share <= 0 ? SHARE_MIN : share >= 1 ? SHARE_MAX : Math.max(SHARE_MIN, Math.min(SHARE_MAX, Math.log10(share / (1 - share))));
const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export interface PlotInfo {
  date: string;
  machine: string;
  replicas: number;
}

export function plotAdmissionTimes(rows: Row[], info: PlotInfo): string {
  const mine = rows.filter((row) => row.replicas === info.replicas);
  const workloads = [...new Set(mine.map((row) => row.workload))];
  const columns = 2;
  const panelWidth = 440;
  const panelHeight = 250;
  const header = 62;
  const width = columns * panelWidth + 20;
  const height = header + Math.ceil(workloads.length / columns) * panelHeight + 10;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="20" y="20" font-size="13" font-weight="bold">Bench plot (npm run bench:cluster, ${escape(info.date.slice(0, 16).replace('T', ' '))} UTC): time per pod creation</text>`,
    `<text x="20" y="36">${escape(info.machine)}; webhooks at ${info.replicas} replicas; share of creations answered within x ms (x log, y logit scale), a curve per round</text>`,
  ];
  // Only the setups the run has, each legend entry as wide as its label (about 6 px a character).
  let legendX = 20;
  for (const setup of SETUPS.filter((each) => mine.some((row) => row.setup === each))) {
    parts.push(`<line x1="${legendX}" y1="50" x2="${legendX + 24}" y2="50" stroke="${COLOR[setup]}" stroke-width="2.5"/>`);
    parts.push(`<text x="${legendX + 30}" y="54">${LABEL[setup]}</text>`);
    legendX += 30 + LABEL[setup].length * 6 + 24;
  }
  workloads.forEach((workload, index) => {
    const left = 10 + (index % columns) * panelWidth + 50;
    const top = header + Math.floor(index / columns) * panelHeight + 22;
    const plotWidth = panelWidth - 80;
    const plotHeight = panelHeight - 70;
    const rowsOf = mine.filter((row) => row.workload === workload);
    const steady = rowsOf[0]?.kind === 'steady';
    const curves = SETUPS.map((setup) => ({
      setup,
      kept: rowsOf.filter((row) => row.setup === setup).map((row) => (steady ? row.clientMs : row.serverMs) ?? []),
    }));
    const values = curves.flatMap((curve) => curve.kept.flat()).filter((v) => v > 0);
    const low = 10 ** Math.floor(Math.log10(Math.max(0.1, Math.min(...values))));
    const high = 10 ** Math.ceil(Math.log10(Math.max(...values)));
    const x = (ms: number) => left + (plotWidth * (Math.log10(Math.max(ms, low)) - Math.log10(low))) / (Math.log10(high) - Math.log10(low));
    const y = (share: number) => top + plotHeight * (1 - (stretch(share) - SHARE_MIN) / (SHARE_MAX - SHARE_MIN));
    parts.push(`<text x="${left}" y="${top - 8}" font-weight="bold">${escape(workload)}</text>`);
    parts.push(`<rect x="${left}" y="${top}" width="${plotWidth}" height="${plotHeight}" fill="none" stroke="#333"/>`);
    for (let decade = low; decade <= high; decade *= 10) {
      parts.push(`<line x1="${x(decade).toFixed(1)}" y1="${top}" x2="${x(decade).toFixed(1)}" y2="${top + plotHeight}" stroke="#ddd"/>`);
      parts.push(`<text x="${x(decade).toFixed(1)}" y="${top + plotHeight + 14}" text-anchor="middle">${decade >= 1 ? decade : decade.toFixed(1)}</text>`);
    }
    for (const share of [0, 0.1, 0.5, 0.9, 0.99, 0.999, 1]) {
      const label = share === 0 ? 'min' : share === 1 ? 'max' : `${+(share * 100).toFixed(1)}%`;
      parts.push(`<line x1="${left}" y1="${y(share).toFixed(1)}" x2="${left + plotWidth}" y2="${y(share).toFixed(1)}" stroke="#eee"/>`);
      parts.push(`<text x="${left - 4}" y="${(y(share) + 4).toFixed(1)}" text-anchor="end">${label}</text>`);
    }
    parts.push(
      `<text x="${left + plotWidth / 2}" y="${top + plotHeight + 28}" text-anchor="middle">ms per creation, ${steady ? "the client's time" : "the API server's time (audit log)"}</text>`,
    );
    for (const curve of curves) {
      for (const kept of curve.kept) {
        if (!kept.length) continue;
        const points = kept.map((ms, i) => `${x(ms).toFixed(1)},${y(QUANTILES[i]).toFixed(1)}`);
        parts.push(`<polyline points="${points.join(' ')}" fill="none" stroke="${COLOR[curve.setup]}" stroke-width="1.8"/>`);
      }
    }
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
