import { describe, expect, it } from "vitest";
import { QueryClient } from "@tanstack/react-query";
import type { PlanDetail } from "../api/types";
import { applyEvents, Invalidator, keysFor, patchPlan } from "./cache";
import type { LiveEvent } from "./eventLog";
import { planDetail, run } from "../test/fixtures";

const plan = (): PlanDetail => planDetail([run("r1", { test_case_id: "a", name: "a" }), run("r2", { test_case_id: "b", name: "b" })]);

const ev = (seq: number, type: string, payload: Record<string, unknown>): LiveEvent => ({
  seq,
  type,
  plan_id: "p1",
  project_id: "x",
  payload,
  created_at: "",
});

describe("patching the plan cache", () => {
  it("moves a run through running → passed and keeps counts right", () => {
    let p = patchPlan(plan(), ev(1, "test.started", { run_id: "r1" }))!;
    expect(p.status).toBe("running");
    expect(p.runs[0].status).toBe("running");
    expect(p.counts).toEqual({ queued: 1, running: 1 });
    p = patchPlan(p, ev(2, "test.finished", { run_id: "r1", status: "passed", duration_s: 0.5 }))!;
    expect(p.runs[0]).toMatchObject({ status: "passed", duration_s: 0.5 });
    expect(p.counts).toEqual({ queued: 1, running: 0, passed: 1 });
    // applying the same event again changes nothing
    expect(patchPlan(p, ev(2, "test.finished", { run_id: "r1", status: "passed", duration_s: 0.5 }))).toBe(p);
  });

  it("leaves unknown runs and other events alone", () => {
    const p = plan();
    expect(patchPlan(p, ev(1, "test.finished", { run_id: "zz", status: "passed" }))).toBe(p);
    expect(patchPlan(p, ev(1, "plan.started", {}))).toBe(p);
    expect(patchPlan(undefined, ev(1, "test.started", { run_id: "r1" }))).toBeUndefined();
  });

  it("names the queries each event makes stale", () => {
    expect(keysFor(ev(1, "plan.finished", {}))).toEqual([["plans"], ["metrics"], ["plan", "p1"], ["insights"]]);
    expect(keysFor({ ...ev(1, "orchestrator.restarted", {}), plan_id: null })).toEqual([["metrics"], ["health"]]);
    expect(keysFor({ ...ev(1, "generation.candidate", { generation_id: "g" }), plan_id: null })).toEqual([["generation", "g"]]);
  });

  it("patches the cache at once and batches refetches", async () => {
    const client = new QueryClient();
    client.setQueryData(["plan", "p1"], plan());
    const inv = new Invalidator(client, 5);
    applyEvents(client, inv, [ev(1, "test.started", { run_id: "r2" })]);
    expect(client.getQueryData<PlanDetail>(["plan", "p1"])!.runs[1].status).toBe("running");
    await new Promise((r) => setTimeout(r, 20));
    expect(client.getQueryState(["plan", "p1"])!.isInvalidated).toBe(true);
    inv.stop();
  });
});
