/**
 * @module bench/lib/heapProbe: preloaded into a host (`--expose-gc --require`) for P5. On SIGUSR2 it
 * collects garbage and prints the live heap as `bench-heap <bytes>`, so the bench reads the heap the
 * app really retains, not what the collector has not got round to yet.
 */
process.on("SIGUSR2", () => {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc !== undefined) {
    gc();
    gc();
  }
  process.stdout.write(`bench-heap ${process.memoryUsage().heapUsed}\n`);
});
