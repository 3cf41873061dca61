import { FINAL_RUN, type PlanDetail, type Run } from "../api/types";

/**
 * Seconds left for a plan, from durations already seen: each unfinished run is
 * expected to take its own past duration when known (`history`, by test case id),
 * else the mean of this plan's finished runs. Null when there is nothing to go by.
 */
export function estimateRemaining(
  runs: Pick<Run, "status" | "duration_s" | "test_case_id">[],
  history: Record<string, number> = {},
): number | null {
  const finished = runs.filter((r) => FINAL_RUN.includes(r.status) && r.duration_s !== null);
  const mean = finished.length ? finished.reduce((s, r) => s + (r.duration_s ?? 0), 0) / finished.length : null;
  let total = 0;
  for (const r of runs) {
    if (FINAL_RUN.includes(r.status)) continue;
    const past = r.test_case_id ? history[r.test_case_id] : undefined;
    const guess = past ?? mean;
    if (guess === null || guess === undefined) return null;
    total += r.status === "running" ? guess / 2 : guess;
  }
  return total;
}

/** Past duration of each test case, from earlier finished plans' runs (latest wins). */
export function durationHistory(plans: Pick<PlanDetail, "runs">[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of plans)
    for (const r of p.runs)
      if (r.test_case_id && r.duration_s !== null && FINAL_RUN.includes(r.status) && !(r.test_case_id in out))
        out[r.test_case_id] = r.duration_s;
  return out;
}

export function planProgress(counts: Partial<Record<string, number>>, total: number) {
  const c = (k: string) => counts[k] ?? 0;
  const passed = c("passed");
  const failed = c("failed") + c("error");
  const other = c("skipped") + c("cancelled");
  return { passed, failed, other, running: c("running"), done: passed + failed + other, total };
}
