/** @module functions-host/test/bufferedLines: batched log output (same text, fewer writes). */

import { describe, expect, it } from "vitest";
import { createBufferedLineWriter } from "../src/logging";

describe("createBufferedLineWriter", () => {
  it("writes the same text, batched into one write per event-loop turn", async () => {
    const writes: string[] = [];
    const writer = createBufferedLineWriter((text) => writes.push(text));
    writer.line("first");
    writer.line("second");
    expect(writes).toEqual([]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(writes).toEqual(["first\nsecond\n"]);
    writer.line("third");
    await new Promise((resolve) => setImmediate(resolve));
    expect(writes).toEqual(["first\nsecond\n", "third\n"]);
  });

  it("writes at once when the batch is full, and on flush", () => {
    const writes: string[] = [];
    const writer = createBufferedLineWriter((text) => writes.push(text), 10);
    writer.line("0123456789");
    expect(writes).toEqual(["0123456789\n"]);
    writer.line("x");
    writer.flush();
    expect(writes).toEqual(["0123456789\n", "x\n"]);
    writer.flush();
    expect(writes).toHaveLength(2);
  });
});
