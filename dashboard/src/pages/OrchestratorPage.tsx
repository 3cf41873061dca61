import { useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { get, post } from "../api/client";
import type { Health, Metrics, PollResult, RestartResult } from "../api/types";
import { useSession } from "../auth/session";
import { ConfirmDialog } from "../components/confirm";
import { ago, ErrorNote, Stat, StatusBadge } from "../components/ui";

function ms(v: number | null | undefined) {
  return v === null || v === undefined ? "—" : `${v.toFixed(v < 10 ? 1 : 0)} ms`;
}

function uptime(s: number) {
  if (!s) return "—";
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h ? `${h}h ${m}m` : m ? `${m}m ${Math.round(s % 60)}s` : `${Math.round(s)}s`;
}

export function OrchestratorPage() {
  const { can } = useSession();
  const client = useQueryClient();
  const m = useQuery({
    queryKey: ["metrics"],
    queryFn: () => get<Metrics>("/execution/metrics"),
    refetchInterval: 5000,
  });
  const health = useQuery({
    queryKey: ["health"],
    queryFn: () => get<Health>("/health"),
    refetchInterval: 10_000,
  });
  const poll = useMutation({
    mutationFn: () => post<PollResult>("/execution/orchestrator/poll"),
    onSettled: () => void client.invalidateQueries({ queryKey: ["metrics"] }),
  });
  const [confirming, setConfirming] = useState(false);
  const restart = useMutation({
    mutationFn: () => post<RestartResult>("/execution/orchestrator/restart"),
    onSettled: () => {
      setConfirming(false);
      void client.invalidateQueries({ queryKey: ["metrics"] });
      void client.invalidateQueries({ queryKey: ["health"] });
    },
  });
  const d = m.data;
  const restarts = d?.restarts ?? health.data?.orchestrator?.restarts;
  return (
    <section>
      <div className="page-head">
        <h1>Orchestrator</h1>
        <div className="head-actions">
          {can("editor") && (
            <button type="button" onClick={() => poll.mutate()} disabled={poll.isPending}>
              Poll
            </button>
          )}
          {can("admin") && (
            <button type="button" className="danger" onClick={() => setConfirming(true)} disabled={restart.isPending}>
              {restart.isPending ? "Restarting…" : "Restart"}
            </button>
          )}
        </div>
      </div>
      {confirming && (
        <ConfirmDialog
          title="Restart the orchestrator?"
          confirm="Restart orchestrator"
          busy={restart.isPending}
          onCancel={() => setConfirming(false)}
          onConfirm={() => restart.mutate()}
        >
          <p>
            Dispatch stops for a moment while it restarts. Running tests are not lost: their plans are picked up again
            through their leases. Restart only when it is stuck or unhealthy.
          </p>
        </ConfirmDialog>
      )}
      <ErrorNote error={m.error} />
      {(poll.data || poll.error) && (
        <div className={`note ${poll.error ? "note-bad" : "note-ok"}`} role="status" aria-label="Poll result">
          {poll.error
            ? `Poll failed: ${poll.error.message}`
            : `Poll done: ${poll.data.detected_plans.length} plan(s) dispatched${
                poll.data.recovered?.length ? `, ${poll.data.recovered.length} lease(s) recovered` : ""
              }; queue now ${poll.data.queue.queued_plans} queued / ${poll.data.queue.running_plans} running plans, ${
                poll.data.queue.queued_tests
              } queued tests.`}
        </div>
      )}
      {(restart.data || restart.error) && (
        <div className={`note ${restart.error ? "note-bad" : "note-ok"}`} role="status" aria-label="Restart result">
          {restart.error
            ? `Restart failed: ${restart.error.message}`
            : `Orchestrator restarted; status ${restart.data.orchestrator.status ?? "unknown"}.`}
        </div>
      )}
      {d && (
        <>
          <div className="orch-status">
            <StatusBadge status={d.orchestrator_status} label="Orchestrator status" live />
            <span>
              Last heartbeat <strong>{ago(d.last_heartbeat)}</strong>
            </span>
            <span>
              Up <strong>{uptime(d.uptime_s)}</strong>
            </span>
            <span>
              Restarts <strong>{restarts ?? "—"}</strong>
            </span>
          </div>
          <div className="stats">
            <Stat label="Queued plans" value={d.queued_plans} hint={`${d.queued_tests} tests`} />
            <Stat label="Running plans" value={d.running_plans} hint={`${d.running_tests} tests`} />
            <Stat
              label="Workers busy"
              value={`${d.workers_busy} / ${d.workers_total}`}
              hint={
                <span className="meter" aria-hidden="true">
                  <span style={{ width: d.workers_total ? `${(100 * d.workers_busy) / d.workers_total}%` : 0 }} />
                </span>
              }
            />
            <Stat label="Dispatch latency p50" value={ms(d.dispatch_latency_ms.p50)} hint={`p99 ${ms(d.dispatch_latency_ms.p99)}`} />
            <Stat label="Tests completed" value={d.completed_tests} hint={`${d.passed} passed · ${d.failed} failed · ${d.errored} errors · ${d.skipped} skipped · ${d.cancelled} cancelled`} />
          </div>
        </>
      )}
    </section>
  );
}
