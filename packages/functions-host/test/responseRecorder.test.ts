/**
 * @module functions-host/test/responseRecorder: with FUNCTIONS_HOST_RECORD_RESPONSES_DIR the host appends every
 * response it writes — proxied streaming answers, its own 404s — to one JSON Lines file per host process.
 */

import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RecordedResponse } from "../src/responseRecorder";
import { killAllChildren, startFixtureHost, type RunningHost } from "./helpers";

let host: RunningHost;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "host-record-"));
  host = await startFixtureHost("stream-app", { FUNCTIONS_HOST_RECORD_RESPONSES_DIR: dir });
});
afterAll(async () => {
  await killAllChildren();
  await rm(dir, { recursive: true, force: true });
});

describe("response recording", () => {
  it("records status, headers and the whole body of every response, one file per host process", async () => {
    const streamed = await fetch(`${host.url}/api/countdown/3`);
    expect(await streamed.text()).toBe("3\n2\n1\n0\n");
    const upload = await fetch(`${host.url}/api/upload/u1?tag=t`, { method: "POST", body: "x".repeat(100_000) });
    const uploaded = await upload.text();
    expect((await fetch(`${host.url}/api/nothing`)).status).toBe(404);
    await host.stop();

    const files = await readdir(dir);
    expect(files).toEqual([`host-${host.child.pid}.jsonl`]);
    const records = (await readFile(path.join(dir, files[0] ?? ""), "utf8"))
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => JSON.parse(l) as RecordedResponse);
    expect(records).toEqual([
      expect.objectContaining({ method: "GET", url: "/api/countdown/3", status: 200, body: "3\n2\n1\n0\n", headers: expect.objectContaining({ "content-type": "text/plain" }) }),
      expect.objectContaining({ method: "POST", url: "/api/upload/u1?tag=t", status: 201, body: uploaded, headers: expect.objectContaining({ "x-upload-id": "u1" }) }),
      expect.objectContaining({ method: "GET", url: "/api/nothing", status: 404, body: "" }),
    ]);
    expect(records.some((r) => r.incomplete === true || r.truncated === true)).toBe(false);
  });
});
