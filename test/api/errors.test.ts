import { describe, expect, it } from "vitest";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { apiError, type ErrorMessage, formatMessage, invalidApiToken, type MessageName, MESSAGES, toHttpResponse } from "../../src/api/errors";

/** Every `.ts` file under a folder, with its text. */
function sources(dir: string): { file: string; text: string }[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".ts"))
    .map((f) => ({ file: path.join(dir, f), text: readFileSync(path.join(dir, f), "utf8") }));
}

const SRC = path.resolve(__dirname, "../../src");
/**
 * daprd's HTTP API reference (`shared/reference/dapr-http-api.md`, kept beside the repository, not in
 * it): `VAULTSTATE_DAPR_REFERENCE`, else the nearest `shared/` above the repository (a git worktree
 * sits deeper than a clone).
 */
function findReference(): string | undefined {
  const configured = process.env.VAULTSTATE_DAPR_REFERENCE;
  if (configured !== undefined && configured !== "") return configured;
  for (let dir = path.resolve(__dirname, "../.."); ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, "..", "shared", "reference", "dapr-http-api.md");
    if (existsSync(candidate)) return candidate;
    if (path.dirname(dir) === dir) return undefined;
  }
}
const REFERENCE = findReference();
const entries = Object.entries(MESSAGES) as [MessageName, ErrorMessage][];
const codes = new Set(entries.map(([, e]) => e.code));

/** A template as a pattern: its holes match any text (the reference writes them as <name> or an example). */
function pattern(template: string): RegExp {
  return new RegExp(`^${template.split(/\{\w+\}/).map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join(".+")}$`);
}

describe("the error catalogue", () => {
  it("names every code the source mentions, and every entry is used", () => {
    const files = sources(SRC);
    const mentioned = new Set(files.flatMap(({ text }) => text.match(/\bERR_[A-Z_]+\b/g) ?? []));
    expect([...mentioned].filter((c) => !codes.has(c))).toEqual([]);
    const outside = files.filter(({ file }) => !file.endsWith(path.join("api", "errors.ts"))).map(({ text }) => text).join("\n");
    expect(entries.filter(([name]) => name !== "internal" && !outside.includes(`"${name}"`)).map(([name]) => name)).toEqual([]);
  });

  it("is the only way to build an API error (no inline messages)", () => {
    const inline = sources(SRC).filter(({ file, text }) => !file.endsWith(path.join("api", "errors.ts")) && /new ApiError\(/.test(text));
    expect(inline.map(({ file }) => path.relative(SRC, file))).toEqual([]);
  });

  it("fills templates by name and leaves no hole", () => {
    expect(formatMessage("secretGet", { key: "k", store: "s", error: "e" })).toBe("failed getting secret with key k from secret store s: e");
    const e = apiError("stateSave", { store: "st", error: "boom" }, { status: 409 });
    expect([e.code, e.status, e.message]).toEqual(["ERR_STATE_SAVE", 409, "failed saving state in state store st: boom"]);
    expect(apiError("secretStoreNotFound", { store: "x" }).status).toBe(401);
  });

  // daprd's own words (shared/reference/dapr-http-api.md): every message it quotes for a code we
  // send is one of that code's templates, and every status it lists for a code includes ours.
  const reference = REFERENCE === undefined ? "" : readFileSync(REFERENCE, "utf8");
  const quoted = [...reference.matchAll(/"errorCode":"(ERR_[A-Z_]+)","message":"((?:[^"\\]|\\.)*)"/g)].map((m) => ({ code: m[1] ?? "", message: JSON.parse(`"${m[2] ?? ""}"`) as string }));
  const rows = [...reference.matchAll(/^\| ((?:`ERR_[A-Z_]+`(?: \/ )?)+) \| ([^|]+) \|/gm)].flatMap((m) =>
    [...(m[1] ?? "").matchAll(/ERR_[A-Z_]+/g)].map((c) => ({ code: c[0], statuses: [...(m[2] ?? "").matchAll(/\d{3}/g)].map((s) => Number(s[0])) })),
  );

  it.skipIf(REFERENCE === undefined)("reads the reference (so the checks below check something; skipped where shared/ is absent)", () => {
    expect(quoted.filter((q) => codes.has(q.code)).length).toBeGreaterThan(15);
    expect(rows.filter((r) => codes.has(r.code)).length).toBeGreaterThan(15);
  });

  it.skipIf(REFERENCE === undefined)("matches every message the reference quotes for a code we send", () => {
    const unmatched = quoted.filter((q) => codes.has(q.code) && !entries.some(([, e]) => e.code === q.code && pattern(e.template).test(q.message)));
    expect(unmatched).toEqual([]);
  });

  it.skipIf(REFERENCE === undefined)("defaults to a status the reference lists for the code", () => {
    const wrong = rows
      .filter((r) => codes.has(r.code) && r.statuses.length > 0)
      .flatMap((r) => entries.filter(([, e]) => e.code === r.code && !r.statuses.includes(e.status)).map(([name, e]) => `${name}: ${e.status} not in ${r.statuses.join("/")}`));
    expect(wrong).toEqual([]);
  });
});

describe("toHttpResponse", () => {
  const noLog = (): void => {
    throw new Error("must not log catalogued errors");
  };
  it("renders the legacy envelope without a trailing newline, Go-escaped", () => {
    expect(toHttpResponse(apiError("secretStoreNotFound", { store: "<x>" }), noLog)).toEqual({
      status: 401,
      headers: { "content-type": "application/json" },
      body: '{"errorCode":"ERR_SECRET_STORE_NOT_FOUND","message":"failed finding secret store with key \\u003cx\\u003e"}',
    });
  });
  it("renders details (the rich shape) and status overrides", () => {
    const response = toHttpResponse(apiError("stateSave", { store: "s", error: "m" }, { status: 409, details: [{ "@type": "t", reason: "R" }] }), noLog);
    expect(response.status).toBe(409);
    expect(JSON.parse(String(response.body))).toEqual({ errorCode: "ERR_STATE_SAVE", message: "failed saving state in state store s: m", details: [{ "@type": "t", reason: "R" }] });
  });
  it("renders the token rejection as daprd's plain text", () => {
    expect(toHttpResponse(invalidApiToken(), noLog)).toEqual({
      status: 401,
      headers: { "content-type": "text/plain; charset=utf-8", "x-content-type-options": "nosniff" },
      body: "invalid api token\n",
    });
  });
  it("turns anything else into an opaque, logged 500", () => {
    const logged: unknown[] = [];
    const response = toHttpResponse(new TypeError("boom with s3cr3t"), (e) => logged.push(e));
    expect(response.status).toBe(500);
    expect(response.body).toBe('{"errorCode":"ERR_INTERNAL","message":"internal error"}');
    expect(logged).toHaveLength(1);
  });
});
