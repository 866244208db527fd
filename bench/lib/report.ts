/** @module bench/lib/report: the bench's results as JSON, a Markdown table and an SVG chart of ratios against targets. */
import { formatRatio, type Spread } from "./stats";

/** A limit a row must meet: `max` (at most) or `min` (at least), or both. */
export interface Target {
  max?: number;
  min?: number;
}

/** One line of the report. */
export interface Row {
  id: string;
  scenario: string;
  baseline: string;
  /** What the ratio (or value) measures, e.g. "server CPU per request". */
  metric: string;
  /** Scenario over baseline, pair by pair; or for rows without a baseline, the value itself. */
  ratio: Spread;
  /** How `ratio` reads: "ratio" (×), "count", or "ms". */
  unit: "ratio" | "count" | "ms";
  target?: Target;
  /** Absolute figures, for context only. */
  context: string;
}

/** A row's verdict: met, missed, or only reported. */
export function verdict(row: Row): "met" | "missed" | "reported" {
  const t = row.target;
  if (t === undefined) return "reported";
  const m = row.ratio.median;
  if (!Number.isFinite(m)) return "missed";
  return (t.max === undefined || m <= t.max) && (t.min === undefined || m >= t.min) ? "met" : "missed";
}

function formatValue(row: Row): string {
  if (row.unit === "ratio") return formatRatio(row.ratio);
  const s = row.ratio;
  if (!Number.isFinite(s.median)) return "n/a";
  const f = (n: number): string => (row.unit === "ms" ? `${Math.round(n)} ms` : String(Math.round(n)));
  return s.samples.length > 1 ? `${f(s.median)} (${f(s.min)}–${f(s.max)})` : f(s.median);
}

function formatTarget(row: Row): string {
  const t = row.target;
  if (t === undefined) return "reported";
  const u = row.unit === "ratio" ? "×" : row.unit === "ms" ? " ms" : "";
  if (t.min !== undefined && t.max !== undefined) return t.min === t.max ? `= ${t.min}${u}` : `${t.min}${u} – ${t.max}${u}`;
  return t.max !== undefined ? `≤ ${t.max}${u}` : `≥ ${t.min}${u}`;
}

/** The Markdown table (ratios first; absolute figures as context). */
export function markdownTable(rows: readonly Row[]): string {
  const lines = ["| id | scenario | baseline | metric | measured: median (min–max) | target | verdict | context |", "|---|---|---|---|---|---|---|---|"];
  for (const r of rows) {
    const v = verdict(r);
    lines.push(`| ${r.id} | ${r.scenario} | ${r.baseline} | ${r.metric} | ${formatValue(r)} | ${formatTarget(r)} | ${v === "met" ? "✅ met" : v === "missed" ? "❌ missed" : "reported"} | ${r.context} |`);
  }
  return lines.join("\n");
}

function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/**
 * The chart: one bar per ratio row (median, with a min–max whisker) on a log scale around 1×, and the
 * target as a vertical mark; green when met, red when missed, grey when only reported. Rows measured
 * in ms are drawn as a fraction of their budget.
 */
export function svgChart(rows: readonly Row[], title: string): string {
  const drawable = rows
    .map((r) => {
      if (r.unit === "ratio") return { row: r, s: r.ratio, target: r.target, label: `${r.id} ${r.metric}` };
      if (r.unit === "ms" && r.target?.max !== undefined) {
        const b = r.target.max;
        return { row: r, s: { ...r.ratio, median: r.ratio.median / b, min: r.ratio.min / b, max: r.ratio.max / b }, target: { max: 1 }, label: `${r.id} ${r.metric} (÷ ${b} ms budget)` };
      }
      return undefined;
    })
    .filter((d): d is NonNullable<typeof d> => d !== undefined && Number.isFinite(d.s.median));
  const rowHeight = 26;
  // Wide enough for the longest label the bench writes (P6's Key Vault row, 68 characters at ≈ 6.6 px each).
  const labelWidth = 480;
  const plotWidth = 420;
  const valueWidth = 150;
  const top = 56;
  const width = labelWidth + plotWidth + valueWidth + 20;
  const height = top + drawable.length * rowHeight + 46;
  // Log scale from 1/8× to 8×, so 0.5× and 2× are equally far from 1×.
  const lo = Math.log(0.125);
  const hi = Math.log(8);
  const x = (v: number): number => labelWidth + ((Math.log(Math.min(8, Math.max(0.125, v))) - lo) / (hi - lo)) * plotWidth;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, Arial, sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="10" y="22" font-size="15" font-weight="bold">${escapeXml(title)}</text>`,
    `<text x="10" y="40" fill="#555">median ratio (bar), min–max (whisker), target (black mark); log scale; green = met, red = missed, grey = reported</text>`,
  ];
  for (const tick of [0.125, 0.25, 0.5, 1, 2, 4, 8]) {
    const tx = x(tick);
    parts.push(`<line x1="${tx}" y1="${top - 4}" x2="${tx}" y2="${top + drawable.length * rowHeight}" stroke="${tick === 1 ? "#888" : "#ddd"}"/>`);
    parts.push(`<text x="${tx}" y="${top + drawable.length * rowHeight + 16}" text-anchor="middle" fill="#555">${tick}×</text>`);
  }
  drawable.forEach((d, i) => {
    const y = top + i * rowHeight;
    const v = verdict({ ...d.row, ratio: d.s, target: d.target, unit: "ratio" });
    const color = v === "met" ? "#2e9d4a" : v === "missed" ? "#d0372f" : "#9a9a9a";
    const x1 = x(Math.min(1, d.s.median));
    const x2 = x(Math.max(1, d.s.median));
    parts.push(`<text x="10" y="${y + 17}">${escapeXml(d.label.length > 72 ? `${d.label.slice(0, 71)}…` : d.label)}</text>`);
    parts.push(`<rect x="${x1}" y="${y + 6}" width="${Math.max(1, x2 - x1)}" height="14" fill="${color}" opacity="0.85"/>`);
    parts.push(`<line x1="${x(d.s.min)}" y1="${y + 13}" x2="${x(d.s.max)}" y2="${y + 13}" stroke="#333" stroke-width="1.5"/>`);
    parts.push(`<line x1="${x(d.s.min)}" y1="${y + 8}" x2="${x(d.s.min)}" y2="${y + 18}" stroke="#333"/>`);
    parts.push(`<line x1="${x(d.s.max)}" y1="${y + 8}" x2="${x(d.s.max)}" y2="${y + 18}" stroke="#333"/>`);
    for (const limit of [d.target?.max, d.target?.min]) {
      if (limit !== undefined) parts.push(`<line x1="${x(limit)}" y1="${y + 2}" x2="${x(limit)}" y2="${y + 24}" stroke="#000" stroke-width="3"/>`);
    }
    const targetText = d.target === undefined ? "" : d.target.max !== undefined && d.target.min !== undefined ? ` [${d.target.min}–${d.target.max}]` : d.target.max !== undefined ? ` ≤ ${d.target.max}` : ` ≥ ${d.target.min}`;
    parts.push(`<text x="${labelWidth + plotWidth + 12}" y="${y + 17}" fill="${color}">${d.s.median.toFixed(2)}×${escapeXml(targetText)}</text>`);
  });
  parts.push(`</svg>`);
  return `${parts.join("\n")}\n`;
}
