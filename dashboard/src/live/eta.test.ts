import { describe, expect, it } from "vitest";
import type { PlanEstimate } from "../api/types";
import { clock, estimateBasis, estimateText, outcomeParts, planProgress, remainingAt } from "./eta";

const estimate = (over: Partial<PlanEstimate> = {}): PlanEstimate => ({
  plan_id: "p1",
  as_of: "2026-01-01T00:00:00Z",
  remaining_s: 10,
  queued_s: 6,
  running: [{ run_id: "r1", test_case_id: "a", expected_s: 5, elapsed_s: 1 }],
  unfinished: 2,
  with_history: 2,
  samples: 3,
  window: 5,
  fallback_s: null,
  ...over,
});

describe("time left", () => {
  it("ticks the running tests down with the clock, the queued ones stay whole", () => {
    const est = estimate();
    expect(remainingAt(est, 0)).toBe(10);
    expect(remainingAt(est, 2500)).toBe(7.5);
    // Past its usual 5 s, a running test has nothing left: never a negative time.
    expect(remainingAt(est, 60_000)).toBe(6);
  });

  it("is unknown without past runs, and says so", () => {
    const none = estimate({ remaining_s: null, with_history: 0, samples: 0, queued_s: 0, running: [] });
    expect(remainingAt(none, 0)).toBeNull();
    expect(estimateText(none, 0)).toBe("no estimate yet");
    expect(estimateText(undefined, 0)).toBe("estimating time left…");
  });

  it("says what it is from", () => {
    expect(estimateText(estimate(), 2000)).toBe("about 8 s left · from 3 past runs of these tests");
    expect(estimateBasis(estimate({ unfinished: 1, with_history: 1, samples: 1 }))).toBe("from 1 past run of this test");
    expect(estimateBasis(estimate({ unfinished: 4, with_history: 1, samples: 2 }))).toBe(
      "from 2 past runs of 1 of 4 tests; the rest at this plan's average",
    );
    expect(estimateBasis(estimate({ with_history: 0, samples: 0, fallback_s: 2 }))).toBe("from this plan's finished tests");
  });

  it("never shows zero time left for a test still running", () => {
    const est = estimate({ queued_s: 0, remaining_s: 1 });
    expect(estimateText(est, 10_000)).toBe("any moment now (running longer than usual) · from 3 past runs of these tests");
  });

  it("formats a countdown compactly", () => {
    expect(clock(8.4)).toBe("8 s");
    expect(clock(65)).toBe("1m 05s");
    expect(clock(3720)).toBe("1h 02m");
    expect(clock(-3)).toBe("0 s");
  });
});

describe("counts", () => {
  it("keeps errors, failures, skips and cancellations apart", () => {
    const p = planProgress({ passed: 3, failed: 1, error: 1, skipped: 2, cancelled: 1, running: 2 }, 12);
    expect(p).toMatchObject({ passed: 3, failed: 1, errors: 1, skipped: 2, cancelled: 1, bad: 2, other: 3, running: 2, done: 8, total: 12 });
    expect(outcomeParts(p).map((x) => x.text)).toEqual(["1 failed", "1 error", "2 skipped", "1 cancelled"]);
    expect(outcomeParts(planProgress({ passed: 2, error: 2 }, 4)).map((x) => x.text)).toEqual(["2 errors"]);
    expect(outcomeParts(planProgress({ passed: 2 }, 2))).toEqual([]);
  });
});
