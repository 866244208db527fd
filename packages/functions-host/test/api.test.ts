/** @module functions-host/test/api: the startHost() API, driven in a child process (the library's state is per process). */

import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { FIXTURES, HOST_MODULE_PATH, killAllChildren, spawnNode } from "./helpers";

const DRIVER = path.join(__dirname, "drivers", "startHost.js");

interface DriverReport {
  url: string;
  port: number;
  functions: unknown[];
  response?: { status: number; body: string };
  second: string;
  logs: string[];
}

function isDriverReport(value: unknown): value is DriverReport {
  return typeof value === "object" && value !== null && "functions" in value && "logs" in value && "second" in value;
}

async function drive(args: string[], env: Record<string, string> = {}): Promise<DriverReport> {
  const run = spawnNode([DRIVER, HOST_MODULE_PATH, ...args], env);
  // No kill: the process must exit by itself once close() has released every handle.
  const exit = await run.exited;
  if (exit.code !== 0) throw new Error(`driver exited ${JSON.stringify(exit)}:\n${run.output()}`);
  const report: unknown = JSON.parse(run.stdout().trim().split("\n").pop() ?? "");
  if (!isDriverReport(report)) throw new Error(`unexpected driver output:\n${run.output()}`);
  return report;
}

afterAll(killAllChildren);

describe("startHost", () => {
  it("returns url, port and the indexed functions, serves requests, and refuses a second host", async () => {
    const report = await drive([path.join(FIXTURES, "noprefix-app"), "default", "/hello/api"]);
    expect(report.url).toBe(`http://127.0.0.1:${report.port}`);
    expect(report.port).toBeGreaterThan(0);
    expect(report.functions).toEqual([
      { name: "hello", trigger: "http", route: "hello/{name}", methods: ["GET"] },
      { name: "setting", trigger: "http", route: "settings/{name}", methods: ["GET"] },
    ]);
    expect(report.response).toEqual({ status: 200, body: "hello api" });
    expect(report.second).toMatch(/startHost can only be called once per process/);
    expect(report.logs.some((line) => /\[information\] \[Host\] Host started on http:\/\/127\.0\.0\.1:\d+$/.test(line))).toBe(true);
    expect(report.logs.some((line) => /\[Host\] Host stopped$/.test(line))).toBe(true);
  });

  it("runs every timer at startup with runTimersOnStartup: true, and describes timer functions", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "host-api-"));
    const outFile = path.join(dir, "runs.jsonl");
    try {
      const report = await drive([path.join(FIXTURES, "timer-app"), "true", "", "300"], { TIMER_OUT: outFile, TICK_SCHEDULE: "0 0 0 1 1 *" });
      expect(report.functions).toEqual([
        { name: "startupOnly", trigger: "timer", schedule: "0 0 0 1 1 *" },
        { name: "yearly", trigger: "timer", schedule: "0 0 0 1 1 *" },
        { name: "everySecond", trigger: "timer", schedule: "0 0 0 1 1 *" },
        { name: "failingTimer", trigger: "timer", schedule: "*/1 * * * * *" },
      ]);
      const ran = existsSync(outFile)
        ? readFileSync(outFile, "utf8")
            .split("\n")
            .filter((l) => l !== "")
            .map((l): unknown => JSON.parse(l))
        : [];
      const names = new Set(ran.map((r) => (typeof r === "object" && r !== null && "fn" in r ? r.fn : undefined)));
      expect([...names].sort()).toEqual(["everySecond", "failingTimer", "startupOnly", "yearly"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("runs no timer at startup with runTimersOnStartup: false", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "host-api-"));
    const outFile = path.join(dir, "runs.jsonl");
    try {
      await drive([path.join(FIXTURES, "timer-app"), "false", "", "300"], { TIMER_OUT: outFile, TICK_SCHEDULE: "0 0 0 1 1 *" });
      const ran = existsSync(outFile) ? readFileSync(outFile, "utf8") : "";
      // failingTimer may legitimately fire on its every-second schedule; nothing yearly may run.
      expect(ran).not.toContain('"fn":"startupOnly"');
      expect(ran).not.toContain('"fn":"yearly"');
      expect(ran).not.toContain('"fn":"everySecond"');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
