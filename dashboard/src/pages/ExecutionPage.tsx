import { useEffect, useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Link, useNavigate, useParams } from "react-router-dom";
import { get, post } from "../api/client";
import type { Page, Plan, PlanDetail, Run } from "../api/types";
import { useSession } from "../auth/session";
import { useProject } from "../components/project";
import { ago, Empty, ErrorNote, PriorityTag, ProgressBar, seconds, StatusBadge } from "../components/ui";
import { durationHistory, estimateRemaining, planProgress } from "../live/eta";

const ACTIVE = new Set(["queued", "running"]);

/** Time since the plan started; it ticks (alone, not the whole page) until the plan ends. */
function Elapsed({ startedAt, finishedAt }: { startedAt: string | null; finishedAt: string | null }) {
  const [now, setNow] = useState(() => Date.now());
  const ticking = !!startedAt && !finishedAt;
  useEffect(() => {
    if (!ticking) return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [ticking]);
  if (!startedAt) return null;
  const ms = (finishedAt ? new Date(finishedAt).getTime() : now) - new Date(startedAt).getTime();
  return ms > 0 ? <span>elapsed {seconds(ms / 1000)}</span> : null;
}

function PlanRow({ plan, active }: { plan: Plan; active: boolean }) {
  const p = planProgress(plan.counts, plan.total);
  return (
    <li className={`plan-row${active ? " active" : ""}`}>
      <Link to={`/execution/${plan.id}`} aria-label={`Plan ${plan.name || plan.id.slice(0, 8)}`} aria-current={active ? "true" : undefined}>
        <div className="plan-row-head">
          <StatusBadge status={plan.status} />
          <span className="plan-name">{plan.name || `plan ${plan.id.slice(0, 8)}`}</span>
          <PriorityTag priority={plan.priority} />
        </div>
        <ProgressBar label={`Progress of ${plan.name || plan.id.slice(0, 8)}`} {...p} />
        <div className="muted small">
          {p.done}/{p.total} · {p.failed ? <span className="bad-text">{p.failed} failed · </span> : null}
          {ago(plan.created_at)}
        </div>
      </Link>
    </li>
  );
}

/** The line of a pytest failure a person reads first: the "E   ..." one, else the last. */
export function failureSummary(failure: string | null): string {
  if (!failure) return "";
  const lines = failure.split("\n").filter((l) => l.trim());
  const e = lines.find((l) => l.startsWith("E "));
  return (e ? e.slice(1) : lines[lines.length - 1] ?? "").trim();
}

function RunRow({ run }: { run: Run }) {
  const [open, setOpen] = useState(false);
  const hasMore = !!(run.failure || run.output);
  return (
    <>
      <tr className={`run run-${run.status}`}>
        <td className="mono">
          {hasMore ? (
            <button type="button" className="link" aria-expanded={open} onClick={() => setOpen((o) => !o)}>
              {open ? "▾" : "▸"} {run.name}
            </button>
          ) : (
            <span>{run.name}</span>
          )}
        </td>
        <td>
          <StatusBadge status={run.status} />
        </td>
        <td className="num">{seconds(run.duration_s)}</td>
        <td className="failure-cell">{failureSummary(run.failure)}</td>
      </tr>
      {open && (
        <tr className="run-more">
          <td colSpan={4}>
            {run.failure && (
              <>
                <h4>Failure</h4>
                <pre className="failure">{run.failure}</pre>
              </>
            )}
            {run.output && (
              <>
                <h4>Output</h4>
                <pre className="output">{run.output}</pre>
              </>
            )}
            {run.isolation && <p className="muted small">Isolation: {run.isolation}</p>}
          </td>
        </tr>
      )}
    </>
  );
}

function PlanView({ id, history }: { id: string; history: Record<string, number> }) {
  const { can } = useSession();
  const client = useQueryClient();
  const navigate = useNavigate();
  const q = useQuery({
    queryKey: ["plan", id],
    queryFn: () => get<PlanDetail>(`/execution/plans/${id}`),
    // Live events keep it current; a slow poll is only a safety net while it runs.
    refetchInterval: (query) => (query.state.data && ACTIVE.has(query.state.data.status) ? 15_000 : false),
  });
  const cancel = useMutation({
    mutationFn: () => post<Plan>(`/execution/plans/${id}/cancel`),
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: ["plan", id] });
      void client.invalidateQueries({ queryKey: ["plans"] });
    },
  });
  const rerun = useMutation({
    mutationFn: (failedOnly: boolean) => post<Plan>(`/execution/plans/${id}/rerun`, { failed_only: failedOnly }),
    onSuccess: (plan) => {
      void client.invalidateQueries({ queryKey: ["plans"] });
      void navigate(`/execution/${plan.id}`);
    },
  });
  const plan = q.data;
  if (q.error) return <ErrorNote error={q.error} />;
  if (!plan) return <p className="muted">Loading plan…</p>;
  const p = planProgress(plan.counts, plan.total);
  const active = ACTIVE.has(plan.status);
  const eta = active ? estimateRemaining(plan.runs, history) : null;
  return (
    <div className="plan-detail" aria-label="Plan details" role="region">
      <div className="plan-head">
        <div>
          <h2>{plan.name || `Plan ${plan.id.slice(0, 8)}`}</h2>
          <div className="muted small">
            {plan.trigger} · created {ago(plan.created_at)} · <PriorityTag priority={plan.priority} />
            {plan.source_plan_id && (
              <>
                {" "}· <Link to={`/execution/${plan.source_plan_id}`}>source plan</Link>
              </>
            )}
          </div>
        </div>
        <StatusBadge status={plan.status} label="Plan status" live />
      </div>
      <ProgressBar label="Plan progress" {...p} />
      <div className="plan-stats">
        <span>
          <strong>{p.done}</strong>/{p.total} finished
        </span>
        <span className="ok-text">{p.passed} passed</span>
        <span className="bad-text">{p.failed} failed</span>
        {p.running > 0 && <span className="info-text">{p.running} running</span>}
        <Elapsed startedAt={plan.started_at} finishedAt={plan.finished_at} />
        {active && (
          <span aria-label="Estimated time left">{eta === null ? "estimating time left…" : `about ${seconds(eta)} left`}</span>
        )}
        <span className="spacer" />
        {can("editor") && active && (
          <button type="button" className="danger" onClick={() => cancel.mutate()} disabled={cancel.isPending}>
            Cancel
          </button>
        )}
        {can("editor") && !active && (
          <>
            <button type="button" onClick={() => rerun.mutate(true)} disabled={rerun.isPending || p.failed === 0}>
              Rerun failed
            </button>
            <button type="button" onClick={() => rerun.mutate(false)} disabled={rerun.isPending}>
              Rerun all
            </button>
          </>
        )}
      </div>
      {plan.error && <ErrorNote>{plan.error}</ErrorNote>}
      <ErrorNote error={cancel.error ?? rerun.error} />
      <table className="table" aria-label="Test runs">
        <thead>
          <tr>
            <th>Test</th>
            <th>Status</th>
            <th className="num">Duration</th>
            <th>Failure</th>
          </tr>
        </thead>
        <tbody>
          {plan.runs.map((r) => (
            <RunRow key={r.id} run={r} />
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function ExecutionPage() {
  const { planId } = useParams();
  const { projectId } = useProject();
  const plans = useQuery({
    queryKey: ["plans", { projectId }],
    queryFn: () => get<Page<Plan>>("/execution/plans", { project_id: projectId, limit: 100 }),
    enabled: !!projectId,
  });
  const items = plans.data?.items ?? [];
  const running = items.filter((p) => p.status === "running");
  const queued = items.filter((p) => p.status === "queued").reverse();
  const finished = items.filter((p) => !ACTIVE.has(p.status));
  // Past durations come from the last finished plan's detail, when it is cached.
  const client = useQueryClient();
  const history = durationHistory(
    finished
      .slice(0, 5)
      .map((p) => client.getQueryData<PlanDetail>(["plan", p.id]))
      .filter((p): p is PlanDetail => !!p),
  );
  const selected = planId ?? running[0]?.id ?? queued[0]?.id ?? finished[0]?.id;

  const group = (title: string, list: Plan[]) => (
    <div className="plan-group" key={title}>
      <h3>
        {title} <span className="count">{list.length}</span>
      </h3>
      {list.length === 0 ? (
        <p className="muted small">None</p>
      ) : (
        <ul aria-label={`${title} plans`}>
          {list.map((p) => (
            <PlanRow key={p.id} plan={p} active={p.id === selected} />
          ))}
        </ul>
      )}
    </div>
  );

  return (
    <section>
      <div className="page-head">
        <h1>Test Execution</h1>
      </div>
      <ErrorNote error={plans.error} />
      {plans.data && items.length === 0 ? (
        <Empty title="Nothing has run yet">Select test cases and press “Run selected”, or generate tests.</Empty>
      ) : (
        <div className="split">
          <div className="plan-list">
            {group("Running", running)}
            {group("Queued", queued)}
            {group("Finished", finished)}
          </div>
          <div className="plan-pane">{selected ? <PlanView id={selected} history={history} /> : null}</div>
        </div>
      )}
    </section>
  );
}
