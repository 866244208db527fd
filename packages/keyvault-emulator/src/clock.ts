/**
 * @module keyvault-emulator/clock: the emulator's notion of "now", shiftable so tests can make time pass.
 */

/** A source of the current time in milliseconds since the Unix epoch. */
export interface Clock {
  /** Current time in ms since the epoch. */
  now(): number;
}

/** A clock whose offset from its base clock can be changed at run time (the admin API's time shift). */
export interface ShiftableClock extends Clock {
  /** Current offset from the base clock, in ms (positive = the emulator lives in the future). */
  readonly shiftMs: number;
  /** Sets the offset from the base clock. */
  setShift(shiftMs: number): void;
  /** Moves the clock forward (or backward, with a negative value) relative to the current shift. */
  advance(deltaMs: number): void;
  /** Drops the offset. */
  reset(): void;
  /**
   * Subscribes to shift changes (setShift, advance, reset), e.g. to re-check expiry-driven events at once.
   * @param listener - called synchronously with the new shift after every change
   * @returns a function that unsubscribes
   */
  onShift(listener: (shiftMs: number) => void): () => void;
}

/** The wall clock. */
export const systemClock: Clock = { now: () => Date.now() };

/**
 * Creates a shiftable clock on top of `base`.
 * @param base - the underlying clock; tests inject a fixed one for deterministic dates
 */
export function createShiftableClock(base: Clock = systemClock): ShiftableClock {
  let shiftMs = 0;
  const listeners = new Set<(shiftMs: number) => void>();
  const changed = (): void => {
    for (const l of listeners) l(shiftMs);
  };
  return {
    now: () => base.now() + shiftMs,
    get shiftMs() {
      return shiftMs;
    },
    setShift(value: number) {
      if (!Number.isFinite(value)) throw new RangeError("clock shift must be a finite number of ms");
      shiftMs = value;
      changed();
    },
    advance(deltaMs: number) {
      if (!Number.isFinite(deltaMs)) throw new RangeError("clock advance must be a finite number of ms");
      shiftMs += deltaMs;
      changed();
    },
    reset() {
      shiftMs = 0;
      changed();
    },
    onShift(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
  };
}

/**
 * Converts ms since the epoch to whole Unix seconds, the unit of every Key Vault date field.
 * @param ms - time in ms
 */
export function toUnixSeconds(ms: number): number {
  return Math.floor(ms / 1000);
}
