/**
 * The bench's smoke run (`npm run bench -- --quick`) in CI: every scenario runs against its baseline,
 * the report files are written, and every row has a measurement. Ratios are not asserted here — speed
 * is judged by the full bench on a quiet machine — except P2, which is a count, not a timing.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const root = path.resolve(__dirname, "..", "..");
const out = mkdtempSync(path.join(tmpdir(), "vaultstate-bench-"));

afterAll(() => rmSync(out, { recursive: true, force: true }));

interface Row {
  id: string;
  metric: string;
  ratio: { median: number };
  verdict: string;
}

describe("npm run bench -- --quick", () => {
  it("runs every scenario with its baseline and writes JSON, Markdown and SVG", { timeout: 600_000 }, async () => {
    await run(process.execPath, [path.join(root, "dist", "tools", "bundle.js")], { cwd: root });
    const { stdout } = await run(process.execPath, [path.join(root, "dist", "bench", "run.js"), "--quick", "--out", out], { cwd: root, maxBuffer: 16 * 2 ** 20 });
    expect(stdout).toContain("P1 pair 1/");
    const result = JSON.parse(readFileSync(path.join(out, "latest.json"), "utf8")) as { rows: Row[]; overhead: { loadGeneratorCpuShare: { median: number } } };
    expect(new Set(result.rows.map((r) => r.id))).toEqual(new Set(["P1", "P1b", "H", "P2", "P3", "P3b", "P4", "P5", "P6", "P7"]));
    for (const row of result.rows) expect(Number.isFinite(row.ratio.median), `${row.id} ${row.metric}`).toBe(true);
    expect(result.rows.find((r) => r.id === "P2")).toMatchObject({ ratio: { median: 1 }, verdict: "met" });
    expect(result.overhead.loadGeneratorCpuShare.median).toBeGreaterThan(0);
    expect(readFileSync(path.join(out, "latest.md"), "utf8")).toContain("| P4 |");
    expect(readFileSync(path.join(out, "latest.svg"), "utf8")).toMatch(/^<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  });
});
