/**
 * A staging's lifecycle as people see it everywhere (PR comment, `/octo status`, API, CLI,
 * Slack): whether it is kept and until when, what a policy will do to it next and when, and
 * what it costs (always an estimate). Pure: the caller passes the repository's policy, the
 * prices and the time.
 */
import { estimate } from "./cost.ts";
import type { CostEstimate, CostPrices, UsageLedger } from "./cost.ts";
import { defaultLifecyclePolicy, isKept, keepForever, nextDeadline } from "./lifecycle.ts";
import type { Deadline, LifecycleFacts, LifecyclePolicy } from "./lifecycle.ts";

export interface LifecycleSummary {
  /** "label", "until" (a date), "forever" (until `keep off`), or null when not kept. */
  kept: { by: "label"; label: string } | { by: "keep"; until: Date | null } | null;
  /** The next thing a policy does by itself, and when; null when none will. */
  next: Deadline | null;
  /** Null when no prices are configured or nothing was observed yet. */
  cost: CostEstimate | null;
}

export function summarizeLifecycle(policy: LifecyclePolicy | undefined, prices: CostPrices | undefined, s: LifecycleFacts & { usage: UsageLedger | null }, now: Date): LifecycleSummary {
  const p = policy ?? defaultLifecyclePolicy;
  const kept: LifecycleSummary["kept"] = s.keepLabel
    ? { by: "label", label: p.keepLabel }
    : isKept(s, now)
      ? { by: "keep", until: s.keepUntil && s.keepUntil.getTime() >= keepForever.getTime() ? null : s.keepUntil }
      : null;
  const active = s.desiredState === "active" || s.desiredState === "archived";
  return {
    kept,
    next: active ? nextDeadline(p, s) : null,
    cost: prices && s.usage ? estimate(s.usage, prices, now) : null,
  };
}
