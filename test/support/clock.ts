// A clock tests move forward (weeks of lifecycle policies without waiting): real time plus an offset,
// so everything that also reads real time (leases in Postgres, the doubles) stays ordered.
import type { Clock } from "../../src/ports/clock.ts";

export interface MovableClock extends Clock {
  /** Moves the clock forward by `ms`. */
  advance(ms: number): void;
}

export function movableClock(): MovableClock {
  let offset = 0;
  return {
    now: () => new Date(Date.now() + offset),
    advance(ms) {
      if (ms < 0) throw new Error("the test clock only moves forward");
      offset += ms;
    },
  };
}

export const days = (n: number): number => n * 24 * 3600 * 1000;
export const hours = (n: number): number => n * 3600 * 1000;
