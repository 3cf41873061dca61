// How a live event changes the query cache: patch what we can at once, refetch the rest.
import type { QueryClient, QueryKey } from "@tanstack/react-query";
import type { PlanDetail, RunStatus } from "../api/types";
import type { LiveEvent } from "./eventLog";

/** The query keys an event makes stale. */
export function keysFor(ev: LiveEvent): QueryKey[] {
  const keys: QueryKey[] = [];
  const [kind] = ev.type.split(".");
  if (kind === "plan" || kind === "test") {
    keys.push(["plans"], ["metrics"]);
    if (ev.plan_id) keys.push(["plan", ev.plan_id]);
  }
  if (ev.type === "plan.finished" || ev.type === "test.finished") keys.push(["insights"]);
  if (kind === "orchestrator") keys.push(["metrics"], ["health"]);
  if (kind === "generation") {
    const id = (ev.payload.generation_id as string | undefined) ?? undefined;
    keys.push(id ? ["generation", id] : ["generation"]);
    if (ev.type === "generation.finished") keys.push(["tests"], ["plans"]);
  }
  return keys;
}

/**
 * Patch a plan's cached detail with a test.started / test.finished event, at once.
 *
 * The cached detail holds the runs the Execution page shows: the first 100 the server
 * inlines, and those "Show more runs" appended from `/runs`. A run the cache does not
 * hold is left to the refetch the event also asks for (`keysFor`): its counts are not
 * guessed here.
 */
export function patchPlan(plan: PlanDetail | undefined, ev: LiveEvent): PlanDetail | undefined {
  if (!plan || (ev.type !== "test.started" && ev.type !== "test.finished")) return plan;
  const runId = ev.payload.run_id as string | undefined;
  const status = (ev.payload.status as RunStatus | undefined) ?? (ev.type === "test.started" ? "running" : undefined);
  if (!runId || !status) return plan;
  const index = plan.runs.findIndex((r) => r.id === runId);
  if (index < 0) return plan;
  const before = plan.runs[index];
  if (before.status === status) return plan;
  const runs = [...plan.runs];
  runs[index] = {
    ...before,
    status,
    duration_s: (ev.payload.duration_s as number | undefined) ?? before.duration_s,
    started_at: (ev.payload.started_at as string | undefined) ?? before.started_at,
  };
  const counts = { ...plan.counts };
  counts[before.status] = Math.max(0, (counts[before.status] ?? 0) - 1);
  counts[status] = (counts[status] ?? 0) + 1;
  const planStatus = plan.status === "queued" ? "running" : plan.status;
  // The plan's clock starts with its first test, even before a refetch brings started_at.
  const startedAt = plan.started_at ?? (ev.payload.started_at as string | undefined) ?? null;
  return { ...plan, runs, counts, status: planStatus, started_at: startedAt };
}

/** Batches invalidations so a burst of test events costs one refetch per query. */
export class Invalidator {
  private keys = new Map<string, QueryKey>();
  private timer: ReturnType<typeof setTimeout> | null = null;
  constructor(
    private client: QueryClient,
    private delayMs = 250,
  ) {}

  add(keys: QueryKey[]): void {
    for (const k of keys) this.keys.set(JSON.stringify(k), k);
    if (!this.timer) this.timer = setTimeout(() => this.flush(), this.delayMs);
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const keys = [...this.keys.values()];
    this.keys.clear();
    for (const queryKey of keys) void this.client.invalidateQueries({ queryKey });
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.keys.clear();
  }
}

export function applyEvents(client: QueryClient, inv: Invalidator, events: LiveEvent[]): void {
  for (const ev of events) {
    if (ev.plan_id && ev.type.startsWith("test.")) {
      client.setQueryData<PlanDetail>(["plan", ev.plan_id], (p) => patchPlan(p, ev));
    }
    inv.add(keysFor(ev));
  }
}
