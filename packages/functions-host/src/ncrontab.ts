/** @module functions-host/ncrontab: NCRONTAB schedules as the Functions timer trigger reads them, evaluated in UTC. */

// Own implementation rather than croner or cron-parser: NCRONTAB requires BOTH day-of-month and day-of-week
// to match (both libraries default to Vixie cron's EITHER) and refuses the L, W, #, H and "?" extensions
// they accept, so their results would need this parser's validation anyway.

/** A parsed schedule: the allowed values of each field, ascending. */
export interface NCrontabSchedule {
  readonly expression: string;
  readonly seconds: readonly number[];
  readonly minutes: readonly number[];
  readonly hours: readonly number[];
  readonly days: readonly number[];
  readonly months: readonly number[];
  readonly daysOfWeek: readonly number[];
}

/** Thrown for an expression the timer trigger would refuse. */
export class NCrontabError extends Error {
  constructor(expression: string, reason: string) {
    super(`'${expression}' is not a valid NCRONTAB expression: ${reason}`);
    this.name = "NCrontabError";
  }
}

interface FieldSpec {
  readonly label: string;
  readonly min: number;
  readonly max: number;
  readonly names?: readonly string[];
}

const MONTH_NAMES = ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"];
const DAY_NAMES = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"];

const FIELDS: readonly FieldSpec[] = [
  { label: "second", min: 0, max: 59 },
  { label: "minute", min: 0, max: 59 },
  { label: "hour", min: 0, max: 23 },
  { label: "day", min: 1, max: 31 },
  { label: "month", min: 1, max: 12, names: MONTH_NAMES },
  { label: "day of week", min: 0, max: 6, names: DAY_NAMES },
];

/**
 * Parses a 6-field (`sec min hour day month dow`) NCRONTAB expression. A 5-field expression is also accepted
 * with seconds fixed at 0, as the WebJobs timer extension does.
 */
export function parseNCrontab(expression: string): NCrontabSchedule {
  const tokens = expression.trim().split(/\s+/).filter((t) => t !== "");
  if (tokens.length !== 6 && tokens.length !== 5) {
    throw new NCrontabError(expression, `expected 6 fields (second minute hour day month day-of-week), got ${tokens.length}`);
  }
  const all = tokens.length === 5 ? ["0", ...tokens] : tokens;
  const values = all.map((token, i) => parseField(expression, token, FIELDS[i]));
  return {
    expression,
    seconds: values[0],
    minutes: values[1],
    hours: values[2],
    days: values[3],
    months: values[4],
    daysOfWeek: values[5],
  };
}

function parseField(expression: string, token: string, spec: FieldSpec): number[] {
  const set = new Set<number>();
  for (const item of token.split(",")) {
    for (const v of parseFieldItem(expression, item, spec)) set.add(v);
  }
  return [...set].sort((a, b) => a - b);
}

function parseFieldItem(expression: string, item: string, spec: FieldSpec): number[] {
  const fail = (why: string): never => {
    throw new NCrontabError(expression, `${spec.label} field '${item}': ${why}`);
  };
  const [rangePart, stepPart, extra] = item.split("/");
  if (extra !== undefined || rangePart === "") fail("malformed");
  let step = 1;
  if (stepPart !== undefined) {
    if (!/^\d+$/.test(stepPart) || Number(stepPart) === 0) fail("the step must be a positive integer");
    step = Number(stepPart);
  }
  let first: number;
  let last: number;
  if (rangePart === "*") {
    first = spec.min;
    last = spec.max;
  } else if (rangePart.includes("-")) {
    const [a, b, more] = rangePart.split("-");
    if (more !== undefined) fail("malformed range");
    first = parseValue(a, spec) ?? fail(`'${a}' is not a valid value`);
    last = parseValue(b, spec) ?? fail(`'${b}' is not a valid value`);
    if (first > last) fail("the range start is after its end");
  } else {
    first = parseValue(rangePart, spec) ?? fail(`'${rangePart}' is not a valid value`);
    // NCRONTAB reads "a/n" as "from a to the field maximum, every n".
    last = stepPart === undefined ? first : spec.max;
  }
  const out: number[] = [];
  for (let v = first; v <= last; v += step) out.push(v);
  return out;
}

function parseValue(text: string, spec: FieldSpec): number | undefined {
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    return n >= spec.min && n <= spec.max ? n : undefined;
  }
  if (spec.names && text.length >= 3) {
    const lower = text.toLowerCase();
    const index = spec.names.findIndex((name) => name === lower || name.slice(0, 3) === lower);
    if (index >= 0) return index + spec.min;
  }
  return undefined;
}

// A schedule that can never fire (e.g. 30 February) must not loop forever; 400 years covers every
// leap-day/weekday combination.
const SEARCH_YEARS = 400;

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

function firstTimeOfDay(s: NCrontabSchedule, floor: readonly [number, number, number] | undefined): [number, number, number] | undefined {
  const [h0, m0, s0] = floor ?? [0, 0, 0];
  for (const h of s.hours) {
    if (h < h0) continue;
    const minuteFloor = h === h0 ? m0 : 0;
    for (const m of s.minutes) {
      if (m < minuteFloor) continue;
      const secondFloor = h === h0 && m === m0 ? s0 : 0;
      const sec = s.seconds.find((x) => x >= secondFloor);
      if (sec !== undefined) return [h, m, sec];
    }
  }
  return undefined;
}

/**
 * The first occurrence strictly after `afterMs` (epoch milliseconds), in UTC, or undefined when the schedule
 * never fires. Day-of-month and day-of-week must both match (NCRONTAB semantics).
 */
export function nextOccurrence(schedule: NCrontabSchedule, afterMs: number): number | undefined {
  const start = new Date(Math.floor(afterMs / 1000) * 1000 + 1000);
  const startYear = start.getUTCFullYear();
  const startMonth = start.getUTCMonth() + 1;
  const startDay = start.getUTCDate();
  for (let year = startYear; year < startYear + SEARCH_YEARS; year++) {
    for (const month of schedule.months) {
      if (year === startYear && month < startMonth) continue;
      const lastDay = daysInMonth(year, month);
      for (const day of schedule.days) {
        if (day > lastDay) break;
        const isStartDate = year === startYear && month === startMonth && day === startDay;
        if (year === startYear && month === startMonth && day < startDay) continue;
        const weekday = new Date(Date.UTC(year, month - 1, day)).getUTCDay();
        if (!schedule.daysOfWeek.includes(weekday)) continue;
        const floor: [number, number, number] | undefined = isStartDate
          ? [start.getUTCHours(), start.getUTCMinutes(), start.getUTCSeconds()]
          : undefined;
        const time = firstTimeOfDay(schedule, floor);
        if (time) return Date.UTC(year, month - 1, day, time[0], time[1], time[2]);
      }
    }
  }
  return undefined;
}

/**
 * Replaces `%NAME%` app-setting references (the Functions binding-expression syntax for schedules) with
 * values from `env`; a reference to a missing setting is an error, as in the host.
 */
export function resolveAppSettingReferences(value: string, env: Readonly<Record<string, string | undefined>>): string {
  return value.replace(/%([^%]+)%/g, (_whole, name: string) => {
    const resolved = env[name];
    if (resolved === undefined) throw new Error(`'%${name}%' does not resolve to a value: app setting '${name}' is not set`);
    return resolved;
  });
}
