/** @module functions-host/logging: log records, level filtering and the one-line format the local host prints. */

/** Log levels as the Node library names them (RpcLog levels). */
export type LogLevel = "trace" | "debug" | "information" | "warning" | "error" | "critical" | "none";

/** Who produced a log: the user's code, the library/host, or a custom metric. */
export type LogCategory = "user" | "system" | "customMetric";

/** One log entry before formatting. */
export interface LogRecord {
  readonly level: LogLevel;
  readonly category: LogCategory;
  readonly message: string;
  /** Set for logs that belong to a function (its invocations, or its registration). */
  readonly functionName?: string;
  readonly invocationId?: string;
}

const LEVELS: readonly LogLevel[] = ["trace", "debug", "information", "warning", "error", "critical", "none"];

/** Type guard for {@link LogLevel}. */
export function isLogLevel(value: unknown): value is LogLevel {
  return typeof value === "string" && (LEVELS as readonly string[]).includes(value);
}

/** Type guard for {@link LogCategory}. */
export function isLogCategory(value: unknown): value is LogCategory {
  return value === "user" || value === "system" || value === "customMetric";
}

/** Numeric order of a level, for threshold comparison. */
export function levelRank(level: LogLevel): number {
  return LEVELS.indexOf(level);
}

/** Maps a host.json / .NET level name ("Information", "Warning", ...) to a {@link LogLevel}; undefined if unknown. */
export function fromDotnetLevel(name: string): LogLevel | undefined {
  const lower = name.toLowerCase();
  return isLogLevel(lower) ? lower : undefined;
}

/** Minimum levels that reach the output. */
export interface LogThresholds {
  /** Per function name (from host.json `Function.<name>`), falling back to {@link LogThresholds.user}. */
  readonly perFunction: Readonly<Record<string, LogLevel>>;
  readonly user: LogLevel;
  readonly system: LogLevel;
}

/** Whether a record passes the thresholds; "none" never prints. */
export function shouldEmit(record: LogRecord, thresholds: LogThresholds): boolean {
  if (record.level === "none") return false;
  const min =
    record.category === "system"
      ? thresholds.system
      : (record.functionName !== undefined ? thresholds.perFunction[record.functionName] : undefined) ?? thresholds.user;
  return min !== "none" && levelRank(record.level) >= levelRank(min);
}

/**
 * Formats a record as `[time] [level] [source] message`, where source is `Host`, `Function.<name>` (system
 * logs of an invocation) or `Function.<name>.User` (the user's context.log calls), like the host's categories.
 */
export function formatLogRecord(record: LogRecord, time: Date): string {
  const source =
    record.functionName === undefined
      ? "Host"
      : record.category === "system"
        ? `Function.${record.functionName}`
        : `Function.${record.functionName}.User`;
  return `[${time.toISOString()}] [${record.level}] [${source}] ${record.message}`;
}

/** A line sink that writes in batches. */
export interface BufferedLineWriter {
  /** Queues one line (a newline is added). */
  line(text: string): void;
  /** Writes everything queued now. */
  flush(): void;
}

/**
 * Queues log lines and writes them with one `write` per event-loop turn (sooner when `maxChars` are
 * queued), and on process exit. Under load the host logs two lines per invocation; writing each one
 * synchronously to a pipe cost the host a measurable share of its CPU. The text is the same.
 */
export function createBufferedLineWriter(write: (text: string) => void, maxChars = 64 * 1024): BufferedLineWriter {
  let pending = "";
  let scheduled = false;
  const flush = (): void => {
    scheduled = false;
    if (pending === "") return;
    const text = pending;
    pending = "";
    write(text);
  };
  process.once("exit", flush);
  return {
    line(text) {
      pending += `${text}\n`;
      if (pending.length >= maxChars) flush();
      else if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    },
    flush,
  };
}
