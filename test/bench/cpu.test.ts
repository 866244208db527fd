/** The bench's CPU list parsing (the `Cpus_allowed_list` that decides where P1's runs are pinned). */
import { describe, expect, it } from "vitest";
import { parseCpuList } from "../../bench/lib/cpu";

describe("parseCpuList", () => {
  it("reads single CPUs, ranges and both mixed", () => {
    expect(parseCpuList("0")).toEqual([0]);
    expect(parseCpuList("0-1\n")).toEqual([0, 1]);
    expect(parseCpuList("0-2,5,7-8")).toEqual([0, 1, 2, 5, 7, 8]);
  });

  it("skips what is not a CPU number", () => {
    expect(parseCpuList("")).toEqual([]);
    expect(parseCpuList("a,3")).toEqual([3]);
  });
});
