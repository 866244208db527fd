/** @module functions-host/test/ncrontab: NCRONTAB parsing, next-run computation and timer input. */

import { describe, expect, it } from "vitest";
import { nextOccurrence, parseNCrontab, resolveAppSettingReferences } from "../src/ncrontab";
import { buildTimerInputJson, isPastDue } from "../src/timers";

const range = (from: number, to: number, step = 1): number[] => {
  const out: number[] = [];
  for (let v = from; v <= to; v += step) out.push(v);
  return out;
};

function next(expression: string, afterIso: string): string | undefined {
  const at = nextOccurrence(parseNCrontab(expression), Date.parse(afterIso));
  return at === undefined ? undefined : new Date(at).toISOString();
}

describe("parseNCrontab", () => {
  it("expands steps, ranges, lists and names into sorted sets", () => {
    expect(parseNCrontab("*/15 0 8-10 1,15 JAN,jul MON-FRI")).toEqual({
      expression: "*/15 0 8-10 1,15 JAN,jul MON-FRI",
      seconds: [0, 15, 30, 45],
      minutes: [0],
      hours: [8, 9, 10],
      days: [1, 15],
      months: [1, 7],
      daysOfWeek: [1, 2, 3, 4, 5],
    });
  });

  it("reads a/n as a..max every n and accepts full day names", () => {
    const schedule = parseNCrontab("5/20 * * * * sunday,6");
    expect(schedule.seconds).toEqual([5, 25, 45]);
    expect(schedule.daysOfWeek).toEqual([0, 6]);
    expect(schedule.minutes).toEqual(range(0, 59));
  });

  it("accepts 5 fields with seconds fixed at 0, like the timer extension", () => {
    expect(parseNCrontab("*/30 * * * *").seconds).toEqual([0]);
    expect(parseNCrontab("*/30 * * * *").minutes).toEqual([0, 30]);
  });

  it.each([
    ["* * * *", /expected 6 fields/],
    ["60 * * * * *", /second field/],
    ["* * 24 * * *", /hour field/],
    ["* * * 0 * *", /day field/],
    ["* * * * 13 *", /month field/],
    ["* * * * * 7", /day of week field/],
    ["0 0 0 L * *", /day field/],
    ["0 0 0 ? * *", /day field/],
    ["0 0 0 * * 1#2", /day of week field/],
    ["*/0 * * * * *", /positive integer/],
    ["0 0 10-8 * * *", /range start is after its end/],
  ])("rejects %s", (expression, message) => {
    expect(() => parseNCrontab(expression)).toThrow(message);
  });
});

describe("nextOccurrence (UTC, strictly after)", () => {
  it.each([
    ["* * * * * *", "2026-03-01T12:00:00.000Z", "2026-03-01T12:00:01.000Z"],
    ["* * * * * *", "2026-03-01T12:00:00.400Z", "2026-03-01T12:00:01.000Z"],
    ["0 */5 * * * *", "2026-03-01T12:03:10.000Z", "2026-03-01T12:05:00.000Z"],
    ["0 */5 * * * *", "2026-03-01T12:05:00.000Z", "2026-03-01T12:10:00.000Z"],
    ["30 15 9 * * *", "2026-03-01T09:15:30.000Z", "2026-03-02T09:15:30.000Z"],
    ["0 0 0 31 * *", "2026-04-01T00:00:00.000Z", "2026-05-31T00:00:00.000Z"],
    ["0 0 0 1 1 *", "2026-12-31T23:59:59.999Z", "2027-01-01T00:00:00.000Z"],
    ["0 0 0 29 2 *", "2025-03-01T00:00:00.000Z", "2028-02-29T00:00:00.000Z"],
    // Day of month AND day of week must both match: the next Friday the 13th.
    ["0 0 0 13 * FRI", "2026-01-01T00:00:00.000Z", "2026-02-13T00:00:00.000Z"],
    ["0 0 9 * * MON-FRI", "2026-11-21T10:00:00.000Z", "2026-11-23T09:00:00.000Z"],
    ["0 0 0 30 2 *", "2026-01-01T00:00:00.000Z", undefined],
  ])("%s after %s -> %s", (expression, after, expected) => {
    expect(next(expression, after)).toBe(expected);
  });
});

describe("resolveAppSettingReferences", () => {
  it("replaces %NAME% from the environment and fails on a missing setting", () => {
    expect(resolveAppSettingReferences("%TICK%", { TICK: "0 */5 * * * *" })).toBe("0 */5 * * * *");
    expect(resolveAppSettingReferences("0 %M% * * * *", { M: "7" })).toBe("0 7 * * * *");
    expect(() => resolveAppSettingReferences("%MISSING%", {})).toThrow(/'%MISSING%' does not resolve/);
  });
});

describe("timer input", () => {
  it("builds the PascalCase JSON the host sends", () => {
    const json = buildTimerInputJson({
      last: Date.parse("2026-03-01T12:00:00Z"),
      next: Date.parse("2026-03-01T12:05:00Z"),
      lastUpdated: Date.parse("2026-03-01T12:00:00.010Z"),
      isPastDue: false,
    });
    expect(JSON.parse(json)).toEqual({
      Schedule: { AdjustForDST: true },
      ScheduleStatus: {
        Last: "2026-03-01T12:00:00.000Z",
        Next: "2026-03-01T12:05:00.000Z",
        LastUpdated: "2026-03-01T12:00:00.010Z",
      },
      IsPastDue: false,
    });
  });

  it("is past due only when the following occurrence was already due at start", () => {
    const everyMinute = parseNCrontab("0 * * * * *");
    const due = Date.parse("2026-03-01T12:00:00Z");
    expect(isPastDue(everyMinute, due, due + 30_000)).toBe(false);
    expect(isPastDue(everyMinute, due, due + 60_000)).toBe(true);
  });
});
