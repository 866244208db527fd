/** @module functions-host/timers: drive timer-triggered functions on their NCRONTAB schedules. */

import { nextOccurrence, type NCrontabSchedule } from "./ncrontab";

/** What a timer invocation receives, before the library camel-cases it. */
export interface TimerInfoInput {
  /** Scheduled time of the previous run (the current one for the first run). */
  readonly last: number;
  /** Next scheduled time after this run, or undefined when the schedule never fires again. */
  readonly next: number | undefined;
  readonly lastUpdated: number;
  readonly isPastDue: boolean;
}

/** The JSON the host sends as timer trigger input (PascalCase, as serialised by the WebJobs extension). */
export function buildTimerInputJson(info: TimerInfoInput): string {
  return JSON.stringify({
    Schedule: { AdjustForDST: true },
    ScheduleStatus: {
      Last: new Date(info.last).toISOString(),
      Next: info.next === undefined ? null : new Date(info.next).toISOString(),
      LastUpdated: new Date(info.lastUpdated).toISOString(),
    },
    IsPastDue: info.isPastDue,
  });
}

/**
 * A run is past due when it starts after the following occurrence was already due, i.e. at least one
 * occurrence was missed (the process was busy or asleep).
 */
export function isPastDue(schedule: NCrontabSchedule, dueAt: number, startedAt: number): boolean {
  const following = nextOccurrence(schedule, dueAt);
  return following !== undefined && startedAt >= following;
}

// setTimeout keeps a 32-bit signed delay; longer waits are chained.
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/** Runs one timer function; never overlaps its own runs and keeps going when a run fails. */
export class TimerRunner {
  #timeout: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;
  #lastDue: number | undefined;

  /**
   * @param schedule parsed schedule
   * @param invoke runs the function with the timer input JSON; a rejection is reported through `onError`
   * @param onError called with the failure of a run (the schedule continues)
   * @param now clock, replaceable for tests
   */
  constructor(
    private readonly schedule: NCrontabSchedule,
    private readonly invoke: (inputJson: string) => Promise<void>,
    private readonly onError: (err: unknown) => void,
    private readonly now: () => number = Date.now,
  ) {}

  /** Starts the schedule, first running once immediately when `runOnStartup` is set. */
  start(runOnStartup: boolean): void {
    if (runOnStartup) {
      void this.#run(this.now()).then(() => this.#scheduleNext());
    } else {
      this.#scheduleNext();
    }
  }

  /** Cancels future runs and waits for a run in progress to finish. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timeout) clearTimeout(this.#timeout);
    this.#timeout = undefined;
    await this.#running;
  }

  #scheduleNext(): void {
    if (this.#stopped) return;
    // Computed from the later of "now" and the last due time, so a run that finishes early (timers can fire a
    // millisecond early) never re-runs the same occurrence, and occurrences missed during a long run are skipped.
    const from = Math.max(this.now(), this.#lastDue ?? 0);
    const due = nextOccurrence(this.schedule, from);
    if (due === undefined) return;
    this.#arm(due);
  }

  #arm(due: number): void {
    if (this.#stopped) return;
    const delay = Math.min(Math.max(due - this.now(), 0), MAX_TIMEOUT_MS);
    this.#timeout = setTimeout(() => {
      this.#timeout = undefined;
      if (this.now() < due) {
        this.#arm(due);
        return;
      }
      void this.#run(due).then(() => this.#scheduleNext());
    }, delay);
  }

  async #run(due: number): Promise<void> {
    if (this.#stopped) return;
    const startedAt = this.now();
    const input = buildTimerInputJson({
      last: this.#lastDue ?? due,
      next: nextOccurrence(this.schedule, Math.max(due, startedAt)),
      lastUpdated: startedAt,
      isPastDue: isPastDue(this.schedule, due, startedAt),
    });
    this.#lastDue = due;
    const run = this.invoke(input).catch((err: unknown) => this.onError(err));
    this.#running = run;
    await run;
    this.#running = undefined;
  }
}
