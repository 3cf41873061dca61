import { createContext, useCallback, useContext, useEffect, useLayoutEffect, useRef, useState, type ReactNode } from "react";
import { useQueryClient } from "@tanstack/react-query";
import {
  backoffDelay,
  connecting,
  disconnected,
  dismissNotice,
  flush,
  initialState,
  receive,
  socketUrl,
  type LiveEvent,
  type LiveState,
  type Step,
} from "./eventLog";
import { applyEvents, Invalidator } from "./cache";

export interface LiveContextValue {
  state: LiveState;
  dismiss: () => void;
  /** Listen to every applied event (e.g. a generation's progress). */
  subscribe: (fn: (ev: LiveEvent) => void) => () => void;
}

/** Exported for tests, which feed events without a socket. */
export const LiveContext = createContext<LiveContextValue>({
  state: initialState,
  dismiss: () => {},
  subscribe: () => () => {},
});

export const useLive = () => useContext(LiveContext);

const GAP_WAIT_MS = 500;

/** One WebSocket for the whole app: reconnects with back-off, resumes with `since`. */
export function LiveProvider({
  token,
  onUnauthorized,
  children,
}: {
  token: string;
  onUnauthorized: () => void;
  children: ReactNode;
}) {
  const client = useQueryClient();
  const [state, setState] = useState<LiveState>(initialState);
  const ref = useRef<LiveState>(initialState);
  const listeners = useRef(new Set<(ev: LiveEvent) => void>());
  const unauthorized = useRef(onUnauthorized);
  useLayoutEffect(() => {
    unauthorized.current = onUnauthorized;
  });

  const commit = useCallback((next: LiveState) => {
    ref.current = next;
    setState(next);
  }, []);

  useEffect(() => {
    const inv = new Invalidator(client);
    let ws: WebSocket | null = null;
    let retry: ReturnType<typeof setTimeout> | null = null;
    let gap: ReturnType<typeof setTimeout> | null = null;
    let stopped = false;

    const handle = (step: Step) => {
      commit(step.state);
      if (step.apply.length) {
        applyEvents(client, inv, step.apply);
        for (const ev of step.apply) listeners.current.forEach((fn) => fn(ev));
      }
      if (step.resync) void client.invalidateQueries();
      if (step.state.pending.length && !gap) {
        gap = setTimeout(() => {
          gap = null;
          handle(flush(ref.current));
        }, GAP_WAIT_MS);
      }
    };

    const open = () => {
      if (stopped) return;
      commit(connecting(ref.current));
      ws = new WebSocket(socketUrl(window.location.origin, token, ref.current.lastSeq));
      ws.onmessage = (msg) => {
        let data: Record<string, unknown>;
        try {
          data = JSON.parse(String(msg.data)) as Record<string, unknown>;
        } catch {
          return;
        }
        handle(receive(ref.current, data));
      };
      ws.onclose = (e) => {
        ws = null;
        if (stopped) return;
        if (e.code === 4401) {
          unauthorized.current();
          return;
        }
        const next = disconnected(ref.current);
        commit(next);
        retry = setTimeout(open, backoffDelay(next.attempt - 1, Math.random()));
      };
    };

    // Reconnect at once when the tab comes back online instead of waiting out the back-off.
    const online = () => {
      if (!ws && retry) {
        clearTimeout(retry);
        retry = null;
        open();
      }
    };
    window.addEventListener("online", online);
    open();
    return () => {
      stopped = true;
      window.removeEventListener("online", online);
      if (retry) clearTimeout(retry);
      if (gap) clearTimeout(gap);
      inv.stop();
      ws?.close();
    };
  }, [client, token, commit]);

  const dismiss = useCallback(() => commit(dismissNotice(ref.current)), [commit]);
  const subscribe = useCallback((fn: (ev: LiveEvent) => void) => {
    listeners.current.add(fn);
    return () => void listeners.current.delete(fn);
  }, []);

  return <LiveContext.Provider value={{ state, dismiss, subscribe }}>{children}</LiveContext.Provider>;
}
