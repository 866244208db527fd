/**
 * @module bench/lib/cpu: the load generator and the measured server on CPUs of their own for the
 * length of one load run (Linux `taskset`), and what the rest of the machine used meanwhile
 * (`/proc/stat`). On a 2-core machine the scheduler otherwise moves both around, and a run in which
 * they shared a core for a while measures the scheduler, not the server.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { clockTicks } from "./proc";

/** What pinning does on this machine. */
export interface Pinning {
  /** Whether runs are pinned at all. */
  readonly active: boolean;
  /** One line for the report: what was done, or why not. */
  readonly description: string;
  /** Pins the server to its CPU and the load generator to another for `run`, then gives both every allowed CPU back. */
  during<T>(serverPid: number | undefined, loadGeneratorPid: number | undefined, run: () => Promise<T>): Promise<T>;
}

/** A `Cpus_allowed_list` (`0-3,6`) as CPU numbers. */
export function parseCpuList(list: string): number[] {
  const cpus: number[] = [];
  for (const part of list.trim().split(",")) {
    if (part === "") continue;
    const [from, to] = part.split("-").map(Number);
    if (from === undefined || !Number.isInteger(from)) continue;
    const last = to === undefined ? from : to;
    if (!Number.isInteger(last)) continue;
    for (let cpu = from; cpu <= last; cpu++) cpus.push(cpu);
  }
  return cpus;
}

/** The CPUs this process may run on. */
function allowedCpus(): number[] {
  try {
    const status = readFileSync("/proc/self/status", "utf8");
    const line = /^Cpus_allowed_list:\s*(.+)$/m.exec(status)?.[1];
    return line === undefined ? [] : parseCpuList(line);
  } catch {
    return [];
  }
}

/** Whether `taskset` can read a process's affinity (it is there and allowed to). */
function tasksetWorks(): boolean {
  try {
    execFileSync("taskset", ["-p", String(process.pid)], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** Sets the CPU affinity of every thread of a process; false when it could not. */
function setAffinity(pid: number, cpus: string): boolean {
  try {
    execFileSync("taskset", ["-a", "-p", "-c", cpus, String(pid)], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

const NO_PINNING = (description: string): Pinning => ({ active: false, description, during: (_server, _loadgen, run) => run() });

/**
 * Pinning for this machine: the measured server on the last allowed CPU, the load generator on the
 * first, both sides of every comparison alike; off (described why) without `taskset` or a second CPU,
 * or when `enabled` is false.
 */
export function cpuPinning(enabled: boolean): Pinning {
  if (!enabled) return NO_PINNING("off (--no-pin)");
  const cpus = allowedCpus();
  const server = cpus[cpus.length - 1];
  const loadgen = cpus[0];
  if (server === undefined || loadgen === undefined || server === loadgen) return NO_PINNING(`off (${cpus.length} CPU allowed)`);
  if (!tasksetWorks()) return NO_PINNING("off (taskset unavailable)");
  const all = cpus.join(",");
  return {
    active: true,
    description: `server on CPU ${server}, load generator on CPU ${loadgen} during each load run (taskset), everything else unpinned`,
    async during(serverPid, loadGeneratorPid, run) {
      const pinned = [serverPid, loadGeneratorPid].every((pid) => pid !== undefined);
      if (pinned) {
        setAffinity(serverPid as number, String(server));
        setAffinity(loadGeneratorPid as number, String(loadgen));
      }
      try {
        return await run();
      } finally {
        if (pinned) {
          setAffinity(serverPid as number, all);
          setAffinity(loadGeneratorPid as number, all);
        }
      }
    },
  };
}

/** Busy and total CPU time of the whole machine so far, in milliseconds (NaN without `/proc/stat`). */
export function machineCpuMs(): { busy: number; total: number } {
  try {
    const fields = (readFileSync("/proc/stat", "utf8").split("\n", 1)[0] ?? "").trim().split(/\s+/).slice(1).map(Number);
    const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = fields;
    const ms = 1000 / clockTicks();
    const busy = (user + nice + system + irq + softirq + steal) * ms;
    return { busy, total: busy + (idle + iowait) * ms };
  } catch {
    return { busy: Number.NaN, total: Number.NaN };
  }
}
