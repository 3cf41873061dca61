import { afterEach, describe, expect, it, vi } from "vitest";
import { getPlanDetail, RUNS_PAGE } from "./client";
import { page, planDetail, run } from "../test/fixtures";

afterEach(() => vi.unstubAllGlobals());

const json = (body: unknown) => new Response(JSON.stringify(body), { status: 200 });

describe("reading a plan's runs", () => {
  it("pages through /runs after the detail's first runs, in plan order", async () => {
    const total = 100 + 2 * RUNS_PAGE + 7;
    const all = Array.from({ length: total }, (_, i) => run(`r${i}`, { name: `t${i}` }));
    const asked: string[] = [];
    vi.stubGlobal(
      "fetch",
      vi.fn((url: string) => {
        asked.push(url);
        const u = new URL(url, "http://x");
        if (u.pathname.endsWith("/runs")) {
          const offset = Number(u.searchParams.get("offset"));
          const limit = Number(u.searchParams.get("limit"));
          return Promise.resolve(json(page(all.slice(offset, offset + limit), total)));
        }
        return Promise.resolve(json(planDetail(all.slice(0, 100), { total })));
      }),
    );
    const plan = await getPlanDetail("p1");
    expect(plan.runs.map((r) => r.id)).toEqual(all.map((r) => r.id));
    expect(asked).toHaveLength(4); // the detail, then three pages
    expect(asked.every((u) => u.startsWith("/api/v1/execution/plans/p1"))).toBe(true);
    expect(plan.runs_next_cursor).toBeNull();
  });

  it("reads nothing more when the detail holds every run, and stops at maxRuns", async () => {
    const fetch = vi.fn(() => Promise.resolve(json(planDetail([run("a"), run("b")], { total: 2 }))));
    vi.stubGlobal("fetch", fetch);
    expect((await getPlanDetail("p1")).runs).toHaveLength(2);
    expect(fetch).toHaveBeenCalledTimes(1);

    const big = Array.from({ length: 100 }, (_, i) => run(`r${i}`));
    const more = vi.fn((url: string) =>
      Promise.resolve(
        json(
          url.includes("/runs")
            ? page([run("r100"), run("r101")], 5000, "after-r101")
            : planDetail(big, { total: 5000, runs_next_cursor: "after-r99" }),
        ),
      ),
    );
    vi.stubGlobal("fetch", more);
    const plan = await getPlanDetail("p1", { maxRuns: 102 });
    expect(plan.runs).toHaveLength(102);
    expect(more.mock.calls[1][0]).toContain("limit=2");
    // The cursor it gives is the one after the runs it returns, not the detail's.
    expect(plan.runs_next_cursor).toBe("after-r101");
  });
});
