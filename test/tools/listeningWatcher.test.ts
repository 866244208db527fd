import { describe, expect, it } from "vitest";
import { ListeningWatcher } from "../../tools/devEnvironment";

describe("ListeningWatcher (dev environment start-up output)", () => {
  it("finds the listening line when it is split across chunks", () => {
    const watcher = new ListeningWatcher();
    expect(watcher.push("[info] loading functions\n[info] Host listen")).toBeUndefined();
    expect(watcher.push("ing on http://127.0.0.1:")).toBeUndefined();
    expect(watcher.push("45123\n")).toBe(45123);
    expect(watcher.push("more output\n")).toBe(45123);
  });

  it("keeps only a bounded tail of the output, the most recent part", () => {
    const watcher = new ListeningWatcher(1_000);
    for (let i = 0; i < 10_000; i++) watcher.push(`line ${i}\n`);
    const tail = watcher.tail();
    expect(tail.length).toBeLessThanOrEqual(1_000 + "line 9999\n".length);
    expect(tail.length).toBeGreaterThanOrEqual(1_000 - "line 9999\n".length);
    expect(tail.endsWith("line 9999\n")).toBe(true);
  });

  it("carries at most a bounded unfinished line between chunks", () => {
    const watcher = new ListeningWatcher();
    for (let i = 0; i < 1_000; i++) expect(watcher.push("x".repeat(1_000))).toBeUndefined();
    expect(watcher.push("\nHost listening on http://127.0.0.1:7071\n")).toBe(7071);
  });
});
