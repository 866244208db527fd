/**
 * @module Keeps the run books honest: every **Message:** the troubleshooting and rotation run books
 * quote must still be text the app (or, for Key Vault's own words, the emulator modelling Key Vault)
 * can print, and every metric and attribute the alert queries name must be one the telemetry exports.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { ATTRIBUTES, METRICS } from "../../src/observability/otel";

const REPO = path.resolve(__dirname, "../..");

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return sources(full);
    return full.endsWith(".ts") ? [readFileSync(full, "utf8")] : [];
  });
}

const code = [...sources(path.join(REPO, "src")), ...sources(path.join(REPO, "packages/keyvault-emulator/src"))].join("\n");

/** The backticked text after each **Message:** in a run book. */
function messages(rel: string): string[] {
  const text = readFileSync(path.join(REPO, rel), "utf8");
  return [...text.matchAll(/\*\*Message:\*\* `([^`]+)`/g)].map((m) => m[1] ?? "");
}

/** The literal parts of a message (`<...>` marks the parts that vary), long enough to mean something. */
function fragments(message: string): string[] {
  return message
    .split(/<[^>]*>/)
    .map((f) => f.trim())
    .filter((f) => f.length >= 8);
}

describe("run books quote the app's real messages", () => {
  for (const book of ["docs/runbooks/troubleshooting.md", "docs/runbooks/rotation.md"]) {
    it(`${book}: every Message is in the code`, () => {
      const quoted = messages(book);
      expect(quoted.length).toBeGreaterThan(book.includes("troubleshooting") ? 15 : 0);
      const missing = quoted.flatMap((m) => fragments(m).filter((f) => !code.includes(f)).map((f) => `${m} → "${f}"`));
      expect(missing).toEqual([]);
    });
  }

  it("covers the failures Azure users hit", () => {
    const text = readFileSync(path.join(REPO, "docs/runbooks/troubleshooting.md"), "utf8");
    for (const topic of ["does not have secrets get permission", "ENOTFOUND", "ERR_STATE_STORE_NOT_FOUND", "invalid api token", "429", "check-failed"]) expect(text, topic).toContain(topic);
  });
});

describe("alert queries use the exported names", () => {
  const alerts = readFileSync(path.join(REPO, "docs/runbooks/alerts.md"), "utf8");
  const queries = [...alerts.matchAll(/```kusto\n([\s\S]*?)```/g)].map((m) => m[1] ?? "");

  it("has a query per alert-worthy metric", () => {
    expect(queries.length).toBeGreaterThanOrEqual(10);
    const used = new Set(queries.flatMap((q) => [...q.matchAll(/"(vaultstate\.[a-z_.]+)"/g)].map((m) => m[1])));
    for (const metric of [METRICS.requests, METRICS.upstreamCalls, METRICS.upstreamDuration, METRICS.cacheStaleServes, METRICS.cacheHits, METRICS.rotations, METRICS.eventLag, METRICS.events]) {
      expect([...used], metric.name).toContain(metric.name);
    }
  });

  it("names only metrics and attributes the telemetry exports", () => {
    const metricNames: string[] = Object.values(METRICS).map((m) => m.name);
    const attributeNames: string[] = Object.values(ATTRIBUTES);
    for (const q of queries) {
      for (const m of q.matchAll(/name (?:==|in|endswith) \(?"([^"]+)"/g)) if (m[1]?.startsWith("vaultstate.")) expect(metricNames, m[1]).toContain(m[1]);
      for (const m of q.matchAll(/customDimensions\["([^"]+)"\]/g)) expect(attributeNames, m[1]).toContain(m[1]);
    }
  });
});
