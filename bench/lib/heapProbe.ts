/**
 * @module bench/lib/heapProbe: preloaded into a host (`--expose-gc --require`) for P5. On SIGUSR2 it
 * collects garbage and prints the live heap as `bench-heap <bytes>`, so the bench reads the heap the
 * app really retains, not what the collector has not got round to yet. With `BENCH_HEAP_SNAPSHOT_DIR`
 * set it also writes a heap snapshot there per reading, so a growth can be attributed to what holds it.
 */
import { writeHeapSnapshot } from "node:v8";
import path from "node:path";

let readings = 0;
process.on("SIGUSR2", () => {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc !== undefined) {
    gc();
    gc();
  }
  const heapUsed = process.memoryUsage().heapUsed;
  const dir = process.env.BENCH_HEAP_SNAPSHOT_DIR;
  // Written after the reading: the snapshot's own allocations must not count in it.
  if (dir !== undefined && dir !== "") writeHeapSnapshot(path.join(dir, `p5-${++readings}.heapsnapshot`));
  process.stdout.write(`bench-heap ${heapUsed}\n`);
});
