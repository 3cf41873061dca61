import type { PlanEstimate } from "../api/types";

/**
 * Seconds a plan has left, `sinceMs` after the server answered `est`.
 *
 * The server knows each unfinished test's median past duration on this project
 * (`GET /execution/plans/{id}/estimate`); between answers the running tests' part
 * ticks down with the clock, never below zero (a test running longer than usual has
 * "nothing left" of its estimate, not a negative time). Null: nothing to go by.
 */
export function remainingAt(
  est: Pick<PlanEstimate, "remaining_s" | "queued_s" | "running">,
  sinceMs: number,
): number | null {
  if (est.remaining_s === null || est.remaining_s === undefined) return null;
  const dt = Math.max(sinceMs, 0) / 1000;
  let left = est.queued_s;
  for (const r of est.running) {
    if (r.expected_s !== null && r.expected_s !== undefined) left += Math.max(r.expected_s - r.elapsed_s - dt, 0);
  }
  return left;
}

/** True when a running test has gone past what it usually takes. */
export function overdue(est: Pick<PlanEstimate, "running">, sinceMs: number): boolean {
  const dt = Math.max(sinceMs, 0) / 1000;
  return est.running.some((r) => r.expected_s !== null && r.expected_s !== undefined && r.elapsed_s + dt > r.expected_s);
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** What the estimate is from, in words: "from 3 past runs of these tests". */
export function estimateBasis(
  est: Pick<PlanEstimate, "remaining_s" | "unfinished" | "with_history" | "samples" | "fallback_s">,
): string {
  if (est.remaining_s === null || est.remaining_s === undefined) return "no past runs of these tests";
  if (est.with_history === 0) return "from this plan's finished tests";
  const runs = plural(est.samples, "past run");
  if (est.with_history >= est.unfinished) return `from ${runs} of ${est.unfinished === 1 ? "this test" : "these tests"}`;
  return `from ${runs} of ${est.with_history} of ${est.unfinished} tests; the rest at this plan's average`;
}

/** Compact seconds for a countdown: "8 s", "1m 05s", "1h 02m". */
export function clock(s: number): string {
  const t = Math.max(0, Math.round(s));
  if (t < 60) return `${t} s`;
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const sec = t % 60;
  return h ? `${h}h ${String(m).padStart(2, "0")}m` : `${m}m ${String(sec).padStart(2, "0")}s`;
}

/** The whole line: "about 8 s left · from 3 past runs of these tests", or "no estimate yet". */
export function estimateText(est: PlanEstimate | undefined, sinceMs: number): string {
  if (!est) return "estimating time left…";
  const left = remainingAt(est, sinceMs);
  if (left === null) return "no estimate yet";
  const basis = estimateBasis(est);
  if (left < 0.5) return `${overdue(est, sinceMs) ? "any moment now (running longer than usual)" : "almost done"} · ${basis}`;
  return `about ${clock(left)} left · ${basis}`;
}

/** A plan's counts, each outcome apart: errors are not failures, skips not cancellations. */
export function planProgress(counts: Partial<Record<string, number>>, total: number) {
  const c = (k: string) => counts[k] ?? 0;
  const passed = c("passed");
  const failed = c("failed");
  const errors = c("error");
  const skipped = c("skipped");
  const cancelled = c("cancelled");
  return {
    passed,
    failed,
    errors,
    skipped,
    cancelled,
    /** Failed or errored: what "Rerun failed" runs again. */
    bad: failed + errors,
    other: skipped + cancelled,
    running: c("running"),
    queued: c("queued"),
    done: passed + failed + errors + skipped + cancelled,
    total,
  };
}

export type Progress = ReturnType<typeof planProgress>;

/** "3 failed · 1 error · 2 skipped": the outcomes a person acts on, only those there are. */
export function outcomeParts(p: Progress): { key: string; text: string; tone: string }[] {
  const parts: { key: string; text: string; tone: string }[] = [];
  if (p.failed) parts.push({ key: "failed", text: `${p.failed} failed`, tone: "bad-text" });
  if (p.errors) parts.push({ key: "error", text: plural(p.errors, "error"), tone: "bad-text" });
  if (p.skipped) parts.push({ key: "skipped", text: `${p.skipped} skipped`, tone: "muted" });
  if (p.cancelled) parts.push({ key: "cancelled", text: `${p.cancelled} cancelled`, tone: "muted" });
  return parts;
}
