/**
 * UUID v7 layout and ordering (audit RowKeys sort by attempt start).
 */
import { describe, expect, it } from "vitest";
import { createUuidV7Generator, formatUuidV7, uuidV7Timestamp } from "../../src/rotation/uuidv7";

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe("UUID v7", () => {
  it("has version 7, the RFC variant, and the timestamp in its first 48 bits", () => {
    const ms = Date.UTC(2026, 0, 2, 3, 4, 5, 678);
    const id = createUuidV7Generator(() => ms)();
    expect(id).toMatch(UUID_V7);
    expect(uuidV7Timestamp(id)).toBe(ms);
  });

  it("lays out fields as RFC 9562 shows", () => {
    // RFC 9562 appendix A.6 example: timestamp 0x017F22E279B0, rand_a 0xCC3, rand_b 0x18C4DC0C0C07398F.
    const randB = Buffer.from("18c4dc0c0c07398f", "hex");
    expect(formatUuidV7(0x017f22e279b0, 0xcc3, randB)).toBe("017f22e2-79b0-7cc3-98c4-dc0c0c07398f");
    expect(() => formatUuidV7(-1, 0, randB)).toThrow(RangeError);
    expect(() => formatUuidV7(0, 0x1000, randB)).toThrow(RangeError);
  });

  it("sorts in creation order within one millisecond, across counter overflow, and when the clock steps back", () => {
    let now = 1_750_000_000_000;
    const next = createUuidV7Generator(() => now);
    const ids: string[] = [];
    for (let i = 0; i < 10_000; i++) ids.push(next());
    now -= 5_000;
    for (let i = 0; i < 100; i++) ids.push(next());
    now += 10_000;
    for (let i = 0; i < 100; i++) ids.push(next());
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
    expect(ids.every((id) => UUID_V7.test(id))).toBe(true);
    expect(uuidV7Timestamp(ids[ids.length - 1] ?? "")).toBe(now);
  });

  it("sorts across milliseconds with the real clock", async () => {
    const next = createUuidV7Generator();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push(next());
      await new Promise((r) => setTimeout(r, 2));
    }
    expect([...ids].sort()).toEqual(ids);
  });

  it("uuidV7Timestamp refuses other UUIDs", () => {
    expect(uuidV7Timestamp("0b7e6a2c-1d3f-4e5a-8b9c-2d4e6f8a0b1c")).toBeUndefined();
  });
});
