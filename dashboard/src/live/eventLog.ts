/**
 * The live-update state machine, pure so it can be tested without a socket.
 *
 * The server sends `hello` (with the seq it starts from), replayed events, then
 * `caught_up`, then live events and pings. We keep the last seq we applied and
 * reconnect with `since=<lastSeq>`, so nothing is missed across a drop. Events are
 * applied at most once and in seq order: a seq at or below `lastSeq` is a duplicate
 * (replay overlapping live delivery) and is dropped; a seq beyond a gap is held
 * briefly in `pending`, since the missing one may still arrive. Sequence numbers can
 * have real holes (a rolled-back transaction), so `caught_up`, `ping` or a short
 * timer (`flush`) releases what is held, in order.
 */

import type { EventEnvelope } from "../api/types";

/**
 * An event as streamed: the server's `EventEnvelope`. This state machine only orders
 * events, so it reads the payload loosely; consumers narrow it by `type` (see
 * `EventPayload` and `GenerationEvent` in api/types).
 */
export type LiveEvent = Omit<EventEnvelope, "payload"> & { payload: Record<string, unknown> };

export type ServerMessage =
  | { type: "hello"; seq: number; replaying?: boolean }
  | { type: "caught_up"; seq: number }
  | { type: "ping"; seq?: number }
  | ({ type: "event" } & Omit<LiveEvent, "type"> & { type: "event"; event_type?: string })
  | Record<string, unknown>;

export type Connection = "idle" | "connecting" | "replaying" | "live" | "down";

export interface Notice {
  kind: "down" | "caught_up";
  text: string;
}

export interface LiveState {
  lastSeq: number | null;
  connection: Connection;
  /** Events past a gap, waiting for the missing seq (sorted by seq). */
  pending: LiveEvent[];
  /** How many connections dropped since the page loaded. */
  drops: number;
  /** Reconnect attempts since the last successful hello (drives back-off). */
  attempt: number;
  /** Events applied during the current replay (for the caught-up notice). */
  replayed: number;
  /** True once a connection has dropped and we have not caught up since. */
  wasDown: boolean;
  notice: Notice | null;
}

export const initialState: LiveState = {
  lastSeq: null,
  connection: "idle",
  pending: [],
  drops: 0,
  attempt: 0,
  replayed: 0,
  wasDown: false,
  notice: null,
};

export interface Step {
  state: LiveState;
  /** Events to apply now, in seq order, each exactly once. */
  apply: LiveEvent[];
  /** The client should refetch everything (we could not replay from a known point). */
  resync?: boolean;
}

export const DOWN_TEXT = "Live updates disconnected — reconnecting…";
export const caughtUpText = (n: number) =>
  n === 0
    ? "Live updates reconnected — caught up, nothing was missed."
    : `Live updates reconnected — caught up on ${n} missed event${n === 1 ? "" : "s"}.`;

/** The WebSocket URL: resume after the last applied seq when there is one. */
export function socketUrl(origin: string, token: string, lastSeq: number | null): string {
  const base = origin.replace(/^http/, "ws");
  const params = new URLSearchParams({ token });
  if (lastSeq !== null) params.set("since", String(lastSeq));
  return `${base}/api/v1/ws?${params.toString()}`;
}

/** Exponential back-off with a cap; `random` in [0, 1) adds up to 30 % jitter. */
export function backoffDelay(attempt: number, random = 0): number {
  const base = Math.min(30_000, 500 * 2 ** Math.max(0, attempt));
  return Math.round(base * (1 + 0.3 * random));
}

export function connecting(state: LiveState): LiveState {
  return { ...state, connection: "connecting" };
}

/** The socket closed (or failed to open). */
export function disconnected(state: LiveState): LiveState {
  const wasUp = state.connection === "live" || state.connection === "replaying";
  return {
    ...state,
    connection: "down",
    attempt: state.attempt + 1,
    drops: wasUp ? state.drops + 1 : state.drops,
    wasDown: state.wasDown || wasUp || state.lastSeq !== null,
    notice: state.wasDown || wasUp || state.lastSeq !== null ? { kind: "down", text: DOWN_TEXT } : state.notice,
  };
}

export function dismissNotice(state: LiveState): LiveState {
  return { ...state, notice: null };
}

function normalise(msg: Record<string, unknown>): LiveEvent | null {
  // On the wire the envelope's "type" is "event" and the event's own type is sent
  // under "type" too (the server spreads the row after "type": "event"), so accept
  // either `event_type` or a `type` that is not "event".
  const seq = Number(msg.seq);
  if (!Number.isFinite(seq)) return null;
  const type =
    typeof msg.event_type === "string"
      ? msg.event_type
      : typeof msg.type === "string" && msg.type !== "event"
        ? msg.type
        : "";
  return {
    seq,
    type,
    plan_id: (msg.plan_id as string | null) ?? null,
    project_id: (msg.project_id as string | null) ?? null,
    payload: (msg.payload as Record<string, unknown>) ?? {},
    created_at: (msg.created_at as string) ?? "",
  };
}

/** Is this message an event (as opposed to hello, caught_up, ping)? */
export function isEvent(msg: Record<string, unknown>): boolean {
  const t = msg.type;
  return t !== "hello" && t !== "caught_up" && t !== "ping" && msg.seq !== undefined;
}

function release(state: LiveState, incoming: LiveEvent[], force: boolean): Step {
  let last = state.lastSeq;
  const pending = [...state.pending];
  for (const ev of incoming) {
    if (last !== null && ev.seq <= last) continue; // duplicate of something applied
    if (pending.some((p) => p.seq === ev.seq)) continue; // duplicate of something held
    pending.push(ev);
  }
  pending.sort((a, b) => a.seq - b.seq);
  const apply: LiveEvent[] = [];
  while (pending.length) {
    const next = pending[0];
    if (last === null || next.seq === last + 1 || force) {
      apply.push(next);
      last = next.seq;
      pending.shift();
    } else break;
  }
  const replayed = state.connection === "replaying" ? state.replayed + apply.length : state.replayed;
  return { state: { ...state, lastSeq: last, pending, replayed }, apply };
}

/** Feed one message from the server; returns the new state and the events to apply. */
export function receive(state: LiveState, raw: Record<string, unknown>): Step {
  switch (raw.type) {
    case "hello": {
      const seq = Number(raw.seq);
      const fresh = state.lastSeq === null;
      return {
        state: {
          ...state,
          connection: "replaying",
          attempt: 0,
          replayed: 0,
          lastSeq: fresh ? seq : state.lastSeq,
          pending: fresh ? [] : state.pending,
        },
        apply: [],
        // Without a known point to replay from, whatever we loaded may be stale.
        resync: fresh,
      };
    }
    case "caught_up": {
      const step = release(state, [], true);
      const s = step.state;
      const notice: Notice | null = s.wasDown
        ? { kind: "caught_up", text: caughtUpText(s.replayed) }
        : s.notice;
      return {
        state: { ...s, connection: "live", wasDown: false, notice },
        apply: step.apply,
        resync: state.wasDown,
      };
    }
    case "ping":
      return release(state, [], true);
    default: {
      if (!isEvent(raw)) return { state, apply: [] };
      const ev = normalise(raw);
      if (!ev) return { state, apply: [] };
      return release(state, [ev], false);
    }
  }
}

/** Release events held behind a gap that was not filled in time. */
export function flush(state: LiveState): Step {
  return release(state, [], true);
}
