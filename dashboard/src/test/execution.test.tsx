import { act, render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { Route, Routes } from "react-router-dom";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { PlanDetail, RunStatus } from "../api/types";
import { applyEvents, Invalidator } from "../live/cache";
import { appendRuns, ExecutionPage, keepShownRuns } from "../pages/ExecutionPage";
import { liveEvent, planDetail, run } from "./fixtures";
import { mockFetch, page, project, renderTree, signedIn, testClient, user } from "./helpers";

afterEach(() => vi.unstubAllGlobals());

const TOTAL = 250;

/** The test.finished event of run `id`, as the socket delivers it. */
const finished = (id: string, status: RunStatus) => ({
  ...liveEvent({ type: "test.finished", run_id: id, status, duration_s: 0.2, failure: null }),
  plan_id: "p1",
});

describe("ExecutionPage's runs", () => {
  it("shows more runs a page at a time, and live events still update every row shown", async () => {
    signedIn();
    // The server's runs, in plan order; a test changes one as the runner would.
    const runs = Array.from({ length: TOTAL }, (_, i) => run(`r${i}`, { name: `test_${i}`, status: "running" }));
    const detail = () =>
      planDetail(runs.slice(0, 100), { status: "running", total: TOTAL, counts: { running: TOTAL }, runs_next_cursor: "after-99" });
    const calls = mockFetch({
      "GET /auth/me": () => user("viewer"),
      "GET /projects": () => page([project]),
      "GET /execution/plans": () => page([detail()]),
      "GET /execution/plans/{plan_id}": () => detail(),
      "GET /execution/plans/{plan_id}/runs": (url) => {
        const cursor = url.searchParams.get("cursor");
        const from = cursor ? Number(cursor.replace("after-", "")) + 1 : Number(url.searchParams.get("offset") ?? 0);
        const items = runs.slice(from, from + Number(url.searchParams.get("limit")));
        const end = from + items.length;
        return page(items, TOTAL, end < TOTAL ? `after-${end - 1}` : null);
      },
    });
    const client = testClient();
    render(renderTree(<Routes><Route path="/execution/:planId" element={<ExecutionPage />} /></Routes>, "/execution/p1", client));
    const table = await screen.findByRole("table", { name: "Test runs" });
    const rows = () => within(table).getAllByRole("row").length - 1; // less the header
    await within(table).findByText("test_99");
    expect(rows()).toBe(100);

    await userEvent.click(screen.getByRole("button", { name: "Show more runs (100 of 250 shown)" }));
    await within(table).findByText("test_199");
    expect(rows()).toBe(200);
    expect(calls.some((c) => c.path === "/api/v1/execution/plans/p1/runs?cursor=after-99&limit=100")).toBe(true);
    expect(screen.getByRole("button", { name: "Show more runs (200 of 250 shown)" })).toBeEnabled();

    // A live event about a row "Show more" added patches it at once; the refetch the
    // event asks for reads as many runs as are shown, so none of them goes away.
    const inv = new Invalidator(client, 5);
    runs[150] = { ...runs[150], status: "failed" };
    act(() => applyEvents(client, inv, [finished("r150", "failed")]));
    expect(client.getQueryData<PlanDetail>(["plan", "p1"])!.runs[150].status).toBe("failed");
    await waitFor(() => expect(within(table).getByText("test_150").closest("tr")).toHaveClass("run-failed"));
    await waitFor(() => expect(calls.some((c) => c.path === "/api/v1/execution/plans/p1/runs?offset=100&limit=100")).toBe(true));
    await waitFor(() => expect(client.isFetching({ queryKey: ["plan", "p1"], exact: true })).toBe(0));
    expect(rows()).toBe(200);
    expect(within(table).getByText("test_150").closest("tr")).toHaveClass("run-failed");

    // One about a run not shown changes no row, and breaks nothing.
    const before = calls.length;
    runs[240] = { ...runs[240], status: "passed" };
    act(() => applyEvents(client, inv, [finished("r240", "passed")]));
    await waitFor(() => expect(calls.length).toBeGreaterThan(before));
    expect(within(table).queryByText("test_240")).toBeNull();
    expect(rows()).toBe(200);

    await userEvent.click(screen.getByRole("button", { name: "Show more runs (200 of 250 shown)" }));
    await within(table).findByText("test_249");
    expect(rows()).toBe(TOTAL);
    expect(calls.some((c) => c.path === "/api/v1/execution/plans/p1/runs?cursor=after-199&limit=100")).toBe(true);
    expect(within(table).getByText("test_240").closest("tr")).toHaveClass("run-passed");
    expect(screen.queryByRole("button", { name: /Show more runs/ })).toBeNull();
    inv.stop();
  });
});

describe("the plan detail's shown runs", () => {
  const runs = Array.from({ length: 6 }, (_, i) => run(`r${i}`));

  it("appends a page once, with its cursor", () => {
    const plan = planDetail(runs.slice(0, 3), { total: 6, runs_next_cursor: "c2" });
    const more = appendRuns(plan, page(runs.slice(2, 5), 6, "c4"));
    expect(more.runs.map((r) => r.id)).toEqual(["r0", "r1", "r2", "r3", "r4"]);
    expect(more.runs_next_cursor).toBe("c4");
  });

  it("keeps the runs appended while a shorter refetch was under way", () => {
    const shown = planDetail(runs.slice(0, 5), { total: 6, runs_next_cursor: "c4" });
    const fresh = planDetail([{ ...runs[0], status: "passed" }, runs[1], runs[2]], { total: 6, runs_next_cursor: "c2" });
    const kept = keepShownRuns(fresh, shown);
    expect(kept.runs.map((r) => [r.id, r.status])).toEqual([
      ["r0", "passed"], ["r1", "queued"], ["r2", "queued"], ["r3", "queued"], ["r4", "queued"],
    ]);
    expect(kept.runs_next_cursor).toBe("c4");
    expect(keepShownRuns(fresh, undefined)).toBe(fresh);
    expect(keepShownRuns(fresh, { ...shown, id: "other" })).toBe(fresh);
  });
});
