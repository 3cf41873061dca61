import { act, render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Generation } from "../api/types";
import { initialState, type LiveEvent } from "../live/eventLog";
import { LiveContext } from "../live/LiveProvider";
import GenerateDialog, { generationDone, generationEvent, logLine } from "../pages/GenerateDialog";
import { candidate, eventCandidate, generation, liveEvent } from "./fixtures";
import { mockFetch, renderTree, signedIn } from "./helpers";

afterEach(() => vi.unstubAllGlobals());

/** A LiveProvider without a socket: the test emits the server's events itself. */
function fakeLive() {
  const listeners = new Set<(ev: LiveEvent) => void>();
  const value = {
    state: initialState,
    dismiss: () => {},
    subscribe: (fn: (ev: LiveEvent) => void) => {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
  };
  const emit = (ev: LiveEvent) => act(() => listeners.forEach((fn) => fn(ev)));
  return { value, emit };
}

describe("GenerateDialog", () => {
  const accepted = candidate("test_add_small_ints", "accepted");
  const rejected = candidate("test_add_same_again", "no_new_coverage");
  const failed = candidate("test_add_wrong", "failed");

  it("logs each candidate's name and verdict from the generation.candidate events", async () => {
    signedIn();
    let current: Generation = generation({ status: "running" });
    const calls = mockFetch({
      "POST /tests/generate": () => ({ generation_id: "g1", status: "queued" }),
      "GET /generations/{generation_id}": () => current,
      "GET /projects/{project_id}/symbols": () => ({ items: [], total: 0 }),
    });
    const live = fakeLive();
    render(
      renderTree(
        <LiveContext.Provider value={live.value}>
          <GenerateDialog projectId="p1" onClose={() => {}} />
        </LiveContext.Provider>,
      ),
    );
    await userEvent.type(screen.getByRole("combobox", { name: "Function" }), "calc:add");
    await userEvent.click(screen.getByRole("button", { name: "Generate" }));
    expect(await screen.findByRole("status", { name: "Generation status" })).toHaveTextContent("running");
    expect(calls.find((c) => c.path === "/api/v1/tests/generate")?.body).toMatchObject({
      project_id: "p1",
      mode: "function",
      target: "calc:add",
    });

    live.emit(liveEvent({ type: "generation.started", generation_id: "g1", mode: "function", engine: "builtin" }));
    live.emit(liveEvent({ type: "generation.phase", generation_id: "g1", phase: "validating", candidates: 3 }));
    // Another generation's events are not this dialog's.
    live.emit(
      liveEvent({ type: "generation.candidate", generation_id: "other", candidate: eventCandidate(accepted) }),
    );
    for (const c of [accepted, rejected, failed])
      live.emit(liveEvent({ type: "generation.candidate", generation_id: "g1", candidate: eventCandidate(c) }));

    const log = screen.getByRole("list", { name: "Generation progress" });
    const lines = within(log)
      .getAllByRole("listitem")
      .filter((li) => li.dataset.event === "generation.candidate")
      .map((li) => li.textContent);
    expect(lines).toEqual([
      "test_add_small_ints: accepted",
      "test_add_same_again: no_new_coverage",
      "test_add_wrong: failed",
    ]);
    expect(log).not.toHaveTextContent("candidate: checked");

    // Finished: the cards show the stored candidates, and the log stays to read.
    current = generation({ status: "finished", finished_at: "2026-01-01T00:01:00Z", candidates: [accepted, rejected, failed], accepted: 1 });
    live.emit(
      liveEvent({ type: "generation.finished", generation_id: "g1", status: "finished", accepted: 1, candidates: 3, plan_id: null }),
    );
    // (The real LiveProvider refetches on the event; here the dialog's poll does.)
    await waitFor(() => expect(screen.getByRole("status", { name: "Generation status" })).toHaveTextContent("finished"), {
      timeout: 3000,
    });
    expect(await screen.findByRole("article", { name: "Candidate test_add_small_ints" }, { timeout: 3000 })).toBeInTheDocument();
    expect(screen.getByText("3 candidates checked, 1 accepted")).toBeInTheDocument();
    expect(screen.getByRole("list", { name: "Generation progress" })).toHaveTextContent("finished: 3 candidates, 1 accepted");
  });

  it("is done only in the statuses the server ends a generation with", () => {
    expect(generationDone({ status: "queued", finished_at: null })).toBe(false);
    expect(generationDone({ status: "running", finished_at: null })).toBe(false);
    expect(generationDone({ status: "finished", finished_at: "x" })).toBe(true);
    expect(generationDone({ status: "error", finished_at: "x" })).toBe(true);
  });

  it("reads events of its generation only, and words each one", () => {
    const ev = liveEvent({ type: "generation.error", generation_id: "g1", message: "sandbox unavailable" });
    expect(generationEvent(ev, "g2")).toBeNull();
    expect(generationEvent({ ...ev, type: "plan.finished" }, "g1")).toBeNull();
    const parsed = generationEvent(ev, "g1");
    expect(parsed && logLine(parsed)).toBe("error: sandbox unavailable");
  });
});
