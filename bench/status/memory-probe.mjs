// Loaded into the Octostage process with `--import` (bench/status/system.ts; plain JavaScript, so
// that it does not load Node's TypeScript stripper into a process running the JavaScript build): every 2 s it writes
// process.memoryUsage() to BENCH_STATUS_MEMORY_OUT, to tell V8 heap from the rest of the RSS. On
// SIGUSR2 it runs a full GC first (node --expose-gc) and writes the live heap to `<file>.gc`.
import { writeFileSync } from "node:fs";

const out = process.env.BENCH_STATUS_MEMORY_OUT;
if (out) {
  const write = (file = out) => writeFileSync(file, JSON.stringify(process.memoryUsage()));
  write();
  setInterval(write, 2000).unref();
  process.on("SIGUSR2", () => {
    globalThis.gc?.();
    write(`${out}.gc`);
  });
}
