/** @module functions-host/test/timer: timer triggers (runOnStartup, %SETTING% schedules, no overlap, failures). */

import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, killAllChildren, startFixtureHost, type RunningHost } from "./helpers";

interface TimerRecord {
  fn: string;
  overlapping?: boolean;
  timer?: { schedule: { adjustForDST: boolean }; scheduleStatus: { last: string; next: string; lastUpdated: string }; isPastDue: boolean };
}

function isTimerRecord(value: unknown): value is TimerRecord {
  return typeof value === "object" && value !== null && "fn" in value && typeof value.fn === "string";
}

describe("timer-app", () => {
  let host: RunningHost;
  let dir: string;
  let outFile: string;

  const records = (): TimerRecord[] =>
    existsSync(outFile)
      ? readFileSync(outFile, "utf8")
          .split("\n")
          .filter((line) => line !== "")
          .map((line): unknown => JSON.parse(line))
          .filter(isTimerRecord)
      : [];
  const runsOf = (fn: string): TimerRecord[] => records().filter((r) => r.fn === fn);

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "host-timer-"));
    outFile = path.join(dir, "runs.jsonl");
    host = await startFixtureHost("timer-app", { TIMER_OUT: outFile, TICK_SCHEDULE: "* * * * * *" });
  });

  afterAll(async () => {
    await host?.stop();
    await killAllChildren();
    rmSync(dir, { recursive: true, force: true });
  });

  it("lists timers with the resolved schedule", () => {
    expect(host.stdout()).toContain("everySecond: timerTrigger (* * * * * *)");
    expect(host.stdout()).toContain("startupOnly: timerTrigger (0 0 0 1 1 *)");
  });

  it("runs a runOnStartup timer once at startup with the timer input", async () => {
    const [run] = await eventually(() => (runsOf("startupOnly").length > 0 ? runsOf("startupOnly") : undefined), 10_000, "startupOnly run");
    expect(run.timer?.schedule).toEqual({ adjustForDST: true });
    expect(run.timer?.isPastDue).toBe(false);
    expect(new Date(run.timer?.scheduleStatus.next ?? "").getUTCMonth()).toBe(0);
    expect(Number.isNaN(Date.parse(run.timer?.scheduleStatus.lastUpdated ?? ""))).toBe(false);
  });

  it("fires an every-second schedule from a %SETTING% repeatedly, never overlapping a running invocation", async () => {
    const runs = await eventually(() => (runsOf("everySecond").length >= 3 ? runsOf("everySecond") : undefined), 20_000, "3 everySecond runs");
    expect(runs.every((r) => r.overlapping === false)).toBe(true);
  });

  it("logs a failing timer and keeps its schedule going", async () => {
    await eventually(() => (runsOf("failingTimer").length >= 2 ? true : undefined), 15_000, "2 failingTimer runs");
    expect(host.output()).toMatch(/\[error\] \[Function\.failingTimer\] Exception while executing function: Functions\.failingTimer: Error: timer failure from fixture/);
  });

  it("does not run a timer that is neither due nor runOnStartup", () => {
    expect(runsOf("yearly")).toEqual([]);
  });
});
