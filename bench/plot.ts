// A small SVG drawn from one bench run's own figures (bench/results.json): the webhook's CPU per
// admission with its metrics and without, round by round, and the ratio of each round. Labelled
// as a bench plot: it is no dashboard and shows no production data.
import type { Results } from './report';

const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function plotMetricsCost(r: Results): string | undefined {
  const cost = r.metricsCost;
  if (!cost) return undefined;
  const rounds = cost.ratioByRound.length;
  const width = 640;
  const height = 300;
  const left = 56;
  const bottom = 250;
  const top = 60;
  const slot = (width - left - 20) / rounds;
  const bar = slot / 3;
  const max = Math.ceil(Math.max(...cost.onUsByRound, ...cost.offUsByRound) / 50) * 50;
  const y = (us: number) => bottom - ((bottom - top) * us) / max;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="${left}" y="18" font-size="13" font-weight="bold">Bench plot (npm run bench, ${escape(r.date.slice(0, 16).replace('T', ' '))} UTC): webhook CPU per admission</text>`,
    `<text x="${left}" y="34">${rounds} A/B rounds of ${cost.load.admissionsPerRound} admissions; node ${escape(r.machine.node)}, ${r.machine.nproc} x ${escape(r.machine.cpu)}</text>`,
    `<text x="${left}" y="50">metrics on (dark) vs the bench-only build without metrics (light); on/off above each pair; median ${cost.medianRatio.toFixed(3)}x</text>`,
    `<line x1="${left}" y1="${bottom}" x2="${width - 10}" y2="${bottom}" stroke="#333"/>`,
    `<line x1="${left}" y1="${top}" x2="${left}" y2="${bottom}" stroke="#333"/>`,
  ];
  for (const tick of [0, max / 2, max]) {
    parts.push(`<text x="${left - 6}" y="${y(tick) + 4}" text-anchor="end">${tick}</text>`);
    parts.push(`<line x1="${left - 3}" y1="${y(tick)}" x2="${left}" y2="${y(tick)}" stroke="#333"/>`);
  }
  parts.push(`<text x="14" y="${(top + bottom) / 2}" transform="rotate(-90 14 ${(top + bottom) / 2})" text-anchor="middle">CPU µs per admission</text>`);
  for (let i = 0; i < rounds; i++) {
    const x = left + i * slot + bar / 2;
    const on = cost.onUsByRound[i];
    const off = cost.offUsByRound[i];
    parts.push(`<rect x="${x.toFixed(1)}" y="${y(on).toFixed(1)}" width="${bar.toFixed(1)}" height="${(bottom - y(on)).toFixed(1)}" fill="#2b5797"/>`);
    parts.push(
      `<rect x="${(x + bar).toFixed(1)}" y="${y(off).toFixed(1)}" width="${bar.toFixed(1)}" height="${(bottom - y(off)).toFixed(1)}" fill="#9fb8dc"/>`,
    );
    parts.push(
      `<text x="${(x + bar).toFixed(1)}" y="${(Math.min(y(on), y(off)) - 4).toFixed(1)}" text-anchor="middle">${cost.ratioByRound[i].toFixed(2)}</text>`,
    );
    parts.push(`<text x="${(x + bar).toFixed(1)}" y="${bottom + 14}" text-anchor="middle">round ${i + 1}</text>`);
  }
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
