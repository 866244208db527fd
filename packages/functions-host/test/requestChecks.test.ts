/**
 * @module Request checks of the local host (found by test/security): absolute-form and asterisk-form
 * targets, duplicate Host headers, HTTP versions, and bodies that never fully arrived.
 */
import { describe, expect, it } from "vitest";
import { checkRequestLine, isClientAbortError } from "../src/requestChecks";

const host = ["Host", "127.0.0.1:7071"];

describe("checkRequestLine", () => {
  it("passes origin-form targets through unchanged", () => {
    expect(checkRequestLine("GET", "/v1.0/state/s/a%2Fb?x=1", "1.1", host)).toEqual({ ok: true, target: "/v1.0/state/s/a%2Fb?x=1" });
    expect(checkRequestLine("GET", "//evil.example/x", "1.0", [])).toEqual({ ok: true, target: "//evil.example/x" });
  });
  it.each([
    ["http://127.0.0.1:7071/v1.0/healthz", "/v1.0/healthz"],
    ["HTTPS://example.com/v1.0/secrets/s/k?metadata.a=b", "/v1.0/secrets/s/k?metadata.a=b"],
    ["http://a", "/"],
    ["http://a?x=1", "/?x=1"],
  ])("absolute-form %s is routed as %s (it used to fail URL parsing with a 500)", (target, expected) => {
    expect(checkRequestLine("GET", target, "1.1", host)).toEqual({ ok: true, target: expected });
  });
  it("refuses absolute-form targets of other schemes and other target forms", () => {
    expect(checkRequestLine("GET", "ftp://a/v1.0/healthz", "1.1", host)).toEqual({ ok: false, status: 400 });
    expect(checkRequestLine("GET", "v1.0/healthz", "1.1", host)).toEqual({ ok: false, status: 400 });
  });
  it("asterisk-form is OPTIONS only", () => {
    expect(checkRequestLine("OPTIONS", "*", "1.1", host)).toEqual({ ok: true, target: "/" });
    expect(checkRequestLine("GET", "*", "1.1", host)).toEqual({ ok: false, status: 400 });
  });
  it("two Host headers are a 400, whatever their case", () => {
    expect(checkRequestLine("GET", "/", "1.1", [...host, "host", "evil.example"])).toEqual({ ok: false, status: 400 });
  });
  it.each(["2.0", "0.9", "3.0"])("HTTP/%s over this parser is a 505", (version) => {
    expect(checkRequestLine("GET", "/", version, host)).toEqual({ ok: false, status: 505 });
  });
});

describe("isClientAbortError", () => {
  it("recognises the errors of a body that never fully arrived", () => {
    const reset = Object.assign(new Error("aborted"), { code: "ECONNRESET" });
    expect(isClientAbortError(reset)).toBe(true);
    expect(isClientAbortError(new Error("aborted"))).toBe(true);
    expect(isClientAbortError(Object.assign(new Error("Premature close"), { code: "ERR_STREAM_PREMATURE_CLOSE" }))).toBe(true);
  });
  it("leaves every other error to the host's error handling", () => {
    expect(isClientAbortError(new Error("boom"))).toBe(false);
    expect(isClientAbortError("aborted")).toBe(false);
    expect(isClientAbortError(Object.assign(new Error("x"), { code: "EMFILE" }))).toBe(false);
  });
});
