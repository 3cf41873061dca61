import { describe, expect, it } from "vitest";
import {
  backoffDelay,
  caughtUpText,
  connecting,
  disconnected,
  DOWN_TEXT,
  flush,
  initialState,
  receive,
  socketUrl,
  type LiveState,
  type Step,
} from "./eventLog";

const ev = (seq: number, type = "test.finished", extra: Record<string, unknown> = {}) => ({
  type,
  seq,
  plan_id: "p1",
  project_id: "x",
  payload: { run_id: `r${seq}` },
  created_at: "2026-01-01T00:00:00Z",
  ...extra,
});

/** Feed messages in order, collecting the seqs applied. */
function feed(state: LiveState, msgs: Record<string, unknown>[]): { state: LiveState; seqs: number[]; steps: Step[] } {
  const seqs: number[] = [];
  const steps: Step[] = [];
  for (const m of msgs) {
    const step = receive(state, m);
    steps.push(step);
    state = step.state;
    seqs.push(...step.apply.map((e) => e.seq));
  }
  return { state, seqs, steps };
}

describe("first connection", () => {
  it("starts from the server's seq, asks for a resync, and goes live on caught_up", () => {
    const { state, steps } = feed(connecting(initialState), [
      { type: "hello", seq: 41, replaying: false },
      { type: "caught_up", seq: 41 },
    ]);
    expect(steps[0].resync).toBe(true);
    expect(state.lastSeq).toBe(41);
    expect(state.connection).toBe("live");
    expect(state.notice).toBeNull(); // nothing to announce on a first connect
  });

  it("applies live events in order and keeps the last seq", () => {
    const r = feed(initialState, [{ type: "hello", seq: 0 }, { type: "caught_up", seq: 0 }, ev(1), ev(2), ev(3)]);
    expect(r.seqs).toEqual([1, 2, 3]);
    expect(r.state.lastSeq).toBe(3);
  });

  it("reads the event's own type (the server spreads it over the envelope's)", () => {
    const r = feed(initialState, [{ type: "hello", seq: 0 }, ev(1, "plan.started")]);
    expect(r.steps[1].apply[0].type).toBe("plan.started");
    expect(r.steps[1].apply[0].payload).toEqual({ run_id: "r1" });
    const alt = receive(r.state, { type: "event", event_type: "plan.finished", seq: 2, payload: {} });
    expect(alt.apply[0].type).toBe("plan.finished");
  });
});

describe("duplicates and ordering", () => {
  const live = feed(initialState, [{ type: "hello", seq: 10 }, { type: "caught_up", seq: 10 }]).state;

  it("drops an event seen twice and anything at or below the last seq", () => {
    const r = feed(live, [ev(11), ev(11), ev(9), ev(10), ev(12), ev(12)]);
    expect(r.seqs).toEqual([11, 12]);
  });

  it("holds an event past a gap until the missing one arrives, then applies both in order", () => {
    const r = feed(live, [ev(12), ev(13)]);
    expect(r.seqs).toEqual([]);
    expect(r.state.pending.map((e) => e.seq)).toEqual([12, 13]);
    const filled = feed(r.state, [ev(11)]);
    expect(filled.seqs).toEqual([11, 12, 13]);
    expect(filled.state.pending).toEqual([]);
    expect(filled.state.lastSeq).toBe(13);
  });

  it("releases held events in order when the gap is a real hole (flush, ping or caught_up)", () => {
    const held = feed(live, [ev(14), ev(12)]).state;
    const f = flush(held);
    expect(f.apply.map((e) => e.seq)).toEqual([12, 14]);
    expect(f.state.lastSeq).toBe(14);
    expect(feed(held, [{ type: "ping" }]).seqs).toEqual([12, 14]);
    expect(feed(held, [{ type: "caught_up", seq: 14 }]).seqs).toEqual([12, 14]);
    // and a late arrival of the hole's seq is then a duplicate
    expect(feed(f.state, [ev(13)]).seqs).toEqual([]);
  });

  it("ignores messages that are not events", () => {
    const r = feed(live, [{ type: "something" }, { nope: 1 }]);
    expect(r.seqs).toEqual([]);
    expect(r.state.lastSeq).toBe(10);
  });
});

describe("reconnect and replay", () => {
  it("reconnects with since=<last seq>, replays exactly what was missed, and says it caught up", () => {
    let s = feed(initialState, [{ type: "hello", seq: 5 }, { type: "caught_up", seq: 5 }, ev(6), ev(7)]).state;
    expect(socketUrl("http://host:8000", "tok", s.lastSeq)).toBe("ws://host:8000/api/v1/ws?token=tok&since=7");

    s = disconnected(s);
    expect(s.connection).toBe("down");
    expect(s.drops).toBe(1);
    expect(s.notice).toEqual({ kind: "down", text: DOWN_TEXT });

    s = connecting(s);
    // Replay overlaps what we had (7) and the live stream repeats one (9).
    const r = feed(s, [{ type: "hello", seq: 7, replaying: true }, ev(7), ev(8), ev(9), { type: "caught_up", seq: 9 }, ev(9), ev(10)]);
    expect(r.steps[0].resync).toBe(false);
    expect(r.seqs).toEqual([8, 9, 10]);
    expect(r.state.connection).toBe("live");
    expect(r.state.notice).toEqual({ kind: "caught_up", text: caughtUpText(2) });
    expect(r.steps[4].resync).toBe(true); // refetch lists once after a drop
  });

  it("keeps the down notice through failed attempts and counts attempts for back-off", () => {
    let s = feed(initialState, [{ type: "hello", seq: 1 }, { type: "caught_up", seq: 1 }]).state;
    s = disconnected(s);
    s = disconnected(connecting(s));
    s = disconnected(connecting(s));
    expect(s.attempt).toBe(3);
    expect(s.drops).toBe(1);
    expect(s.notice?.kind).toBe("down");
    s = receive(connecting(s), { type: "hello", seq: 1 }).state;
    expect(s.attempt).toBe(0);
    expect(s.connection).toBe("replaying");
  });

  it("uses no since before the first hello", () => {
    expect(socketUrl("https://a.example", "t k", null)).toBe("wss://a.example/api/v1/ws?token=t+k");
  });

  it("backs off exponentially up to 30 s, with bounded jitter", () => {
    expect(backoffDelay(0)).toBe(500);
    expect(backoffDelay(1)).toBe(1000);
    expect(backoffDelay(3)).toBe(4000);
    expect(backoffDelay(20)).toBe(30000);
    expect(backoffDelay(0, 0.999)).toBeLessThanOrEqual(650);
  });

  it("announces 'nothing missed' when the replay was empty", () => {
    let s = feed(initialState, [{ type: "hello", seq: 3 }, { type: "caught_up", seq: 3 }]).state;
    s = disconnected(s);
    const r = feed(s, [{ type: "hello", seq: 3 }, { type: "caught_up", seq: 3 }]);
    expect(r.state.notice?.text).toBe(caughtUpText(0));
  });
});
