import { useEffect, useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Link, useNavigate, useParams, useSearchParams } from "react-router-dom";
import { get, getPlanDetail, post, type Query } from "../api/client";
import {
  PLAN_STATUSES,
  TRIGGERS,
  type Page,
  type Plan,
  type PlanDetail,
  type PlanEstimate,
  type Run,
} from "../api/types";
import { useSession } from "../auth/session";
import { useProject } from "../components/project";
import { ago, DebouncedInput, Empty, ErrorNote, PriorityTag, ProgressBar, seconds, StatusBadge } from "../components/ui";
import { clock, estimateText, outcomeParts, planProgress, type Progress } from "../live/eta";

const ACTIVE = new Set(["queued", "running"]);
const PAGE_SIZE = 50;
/** Runs "Show more runs" adds (the detail itself holds the first 100). */
const MORE_RUNS = 100;

/** The plans list's view state, all of it in the URL (so a view is shared by its link). */
const FILTERS = ["q", "status", "trigger", "tag", "from", "to"] as const;
type Filter = (typeof FILTERS)[number];

export function planQuery(params: URLSearchParams, projectId: string | null | undefined): Query {
  const page = Math.max(0, Number(params.get("page") ?? 0) || 0);
  return {
    project_id: projectId,
    q: params.get("q"),
    status: params.get("status"),
    trigger: params.get("trigger"),
    tag: params.get("tag"),
    created_from: params.get("from"),
    created_to: params.get("to"),
    limit: PAGE_SIZE,
    offset: page * PAGE_SIZE,
  };
}

/** The current time, every second while `on` (only the component using it re-renders). */
function useNow(on: boolean): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!on) return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [on]);
  return now;
}

/** When the plan started: its own time, else its first run's (a live event may come first). */
function startOf(plan: PlanDetail): string | null {
  if (plan.started_at) return plan.started_at;
  const times = plan.runs.map((r) => r.started_at).filter((t): t is string => !!t);
  return times.length ? times.reduce((a, b) => (a < b ? a : b)) : null;
}

/** Elapsed and time left: they tick every second while the plan runs. */
function PlanClock({ plan, estimate, estimatedAt }: { plan: PlanDetail; estimate?: PlanEstimate; estimatedAt: number }) {
  const active = ACTIVE.has(plan.status);
  const now = useNow(active);
  const started = startOf(plan);
  const end = plan.finished_at ? new Date(plan.finished_at).getTime() : now;
  const elapsed = started ? Math.max(0, end - new Date(started).getTime()) / 1000 : null;
  return (
    <>
      {elapsed !== null && (
        <span aria-label="Elapsed time" title={`started ${new Date(started!).toISOString()}`}>
          elapsed {active ? clock(elapsed) : seconds(elapsed)}
        </span>
      )}
      {active && <span aria-label="Estimated time left">{estimateText(estimate, now - estimatedAt)}</span>}
    </>
  );
}

function Outcomes({ p, label }: { p: Progress; label: string }) {
  const parts = outcomeParts(p);
  return (
    <span className="outcomes" aria-label={label}>
      {parts.map((x) => (
        <span key={x.key} className={x.tone} data-outcome={x.key}>
          {x.text}
        </span>
      ))}
    </span>
  );
}

function PlanRow({ plan, active, search }: { plan: Plan; active: boolean; search: string }) {
  const p = planProgress(plan.counts, plan.total);
  const name = plan.name || `plan ${plan.id.slice(0, 8)}`;
  return (
    <li className={`plan-row${active ? " active" : ""}`}>
      <Link
        to={{ pathname: `/execution/${plan.id}`, search }}
        aria-label={`Plan ${plan.name || plan.id.slice(0, 8)}`}
        aria-current={active ? "true" : undefined}
      >
        <div className="plan-row-head">
          <StatusBadge status={plan.status} />
          <span className="plan-name" title={name}>
            {name}
          </span>
          <PriorityTag priority={plan.priority} />
        </div>
        <ProgressBar label={`Progress of ${name}`} passed={p.passed} failed={p.bad} other={p.other} running={p.running} total={p.total} />
        <div className="muted small plan-row-foot">
          <span>
            {p.done}/{p.total}
            {p.passed ? ` · ${p.passed} passed` : ""}
          </span>
          <Outcomes p={p} label={`Outcomes of ${name}`} />
          <span className="spacer" />
          <span title={`trigger: ${plan.trigger}`}>{plan.trigger}</span>
          <span title={plan.created_at}>{ago(plan.created_at)}</span>
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
  const summary = failureSummary(run.failure);
  return (
    <>
      <tr className={`run run-${run.status}`}>
        <td className="mono test-cell" title={run.name}>
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
        <td className="failure-cell" title={summary || undefined}>
          {summary}
        </td>
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

/** A plan's detail with the next page of its runs appended (a run already shown is not repeated). */
export function appendRuns(plan: PlanDetail, next: Page<Run>): PlanDetail {
  const shown = new Set(plan.runs.map((r) => r.id));
  return {
    ...plan,
    runs: [...plan.runs, ...next.items.filter((r) => !shown.has(r.id))],
    runs_next_cursor: next.next_cursor,
  };
}

/**
 * A refetched detail, keeping the runs shown beyond it: "Show more runs" may have
 * appended some while the refetch, which read as many as were shown when it began, was
 * under way. (A plan's runs and their order are fixed when it is created.)
 */
export function keepShownRuns(fresh: PlanDetail, shown: PlanDetail | undefined): PlanDetail {
  if (!shown || shown.id !== fresh.id || shown.runs.length <= fresh.runs.length) return fresh;
  return { ...fresh, runs: [...fresh.runs, ...shown.runs.slice(fresh.runs.length)], runs_next_cursor: shown.runs_next_cursor };
}

/** Under the runs table: reads the plan's next runs into its cached detail, where live events patch them. */
function MoreRuns({ plan }: { plan: PlanDetail }) {
  const client = useQueryClient();
  const more = useMutation({
    mutationFn: () =>
      get<Page<Run>>(
        `/execution/plans/${encodeURIComponent(plan.id)}/runs`,
        plan.runs_next_cursor ? { cursor: plan.runs_next_cursor, limit: MORE_RUNS } : { offset: plan.runs.length, limit: MORE_RUNS },
      ),
    onSuccess: (next) => client.setQueryData<PlanDetail>(["plan", plan.id], (p) => p && appendRuns(p, next)),
  });
  if (plan.runs.length >= plan.total) return null;
  return (
    <div className="more-runs">
      <button type="button" onClick={() => more.mutate()} disabled={more.isPending}>
        Show more runs ({plan.runs.length} of {plan.total} shown)
      </button>
      <ErrorNote error={more.error} />
    </div>
  );
}

function PlanView({ id }: { id: string }) {
  const { can } = useSession();
  const client = useQueryClient();
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const q = useQuery({
    queryKey: ["plan", id],
    // As many runs as are shown: the detail's first 100, or more after "Show more runs"
    // (a refetch after a live event about a run not shown keeps them all).
    queryFn: async () => {
      const shown = client.getQueryData<PlanDetail>(["plan", id])?.runs.length ?? 0;
      const fresh = await getPlanDetail(id, { maxRuns: shown });
      return keepShownRuns(fresh, client.getQueryData<PlanDetail>(["plan", id]));
    },
    // Live events keep it current; a slow poll is only a safety net while it runs.
    refetchInterval: (query) => (query.state.data && ACTIVE.has(query.state.data.status) ? 15_000 : false),
  });
  const active = !!q.data && ACTIVE.has(q.data.status);
  // Under ["plan", id]: every live event of the plan refreshes it with the plan.
  const estimate = useQuery({
    queryKey: ["plan", id, "estimate"],
    queryFn: () => get<PlanEstimate>(`/execution/plans/${id}/estimate`),
    enabled: active,
    refetchInterval: active ? 15_000 : false,
    staleTime: 0,
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
      void navigate({ pathname: `/execution/${plan.id}`, search: params.toString() });
    },
  });
  const plan = q.data;
  if (q.error) return <ErrorNote error={q.error} />;
  if (!plan) return <p className="muted">Loading plan…</p>;
  const p = planProgress(plan.counts, plan.total);
  const name = plan.name || `Plan ${plan.id.slice(0, 8)}`;
  return (
    <div className="plan-detail" aria-label="Plan details" role="region">
      <div className="plan-summary">
        <div className="plan-head">
          <div className="plan-title">
            <h2 title={name}>{name}</h2>
            <div className="muted small">
              <span title="Where the plan came from">{plan.trigger}</span> · created {ago(plan.created_at)} ·{" "}
              <PriorityTag priority={plan.priority} />
              {plan.source_plan_id && (
                <>
                  {" "}· <Link to={{ pathname: `/execution/${plan.source_plan_id}`, search: params.toString() }}>source plan</Link>
                </>
              )}
            </div>
          </div>
          <div className="plan-actions">
            <StatusBadge status={plan.status} label="Plan status" live />
            {can("editor") && active && (
              <button type="button" className="danger" onClick={() => cancel.mutate()} disabled={cancel.isPending}>
                Cancel
              </button>
            )}
            {can("editor") && !active && p.bad > 0 && (
              <button
                type="button"
                onClick={() => rerun.mutate(true)}
                disabled={rerun.isPending}
                title={`Run the ${p.bad} failed or errored test${p.bad === 1 ? "" : "s"} again`}
              >
                Rerun failed
              </button>
            )}
            {can("editor") && !active && (
              <button type="button" onClick={() => rerun.mutate(false)} disabled={rerun.isPending}>
                Rerun all
              </button>
            )}
          </div>
        </div>
        <ProgressBar label="Plan progress" passed={p.passed} failed={p.bad} other={p.other} running={p.running} total={p.total} />
        <div className="plan-stats">
          <span>
            <strong>{p.done}</strong>/{p.total} finished
          </span>
          <span className="ok-text">{p.passed} passed</span>
          <Outcomes p={p} label="Plan outcomes" />
          {p.running > 0 && <span className="info-text">{p.running} running</span>}
          {p.queued > 0 && <span className="muted">{p.queued} queued</span>}
          <PlanClock plan={plan} estimate={estimate.data} estimatedAt={estimate.dataUpdatedAt} />
        </div>
      </div>
      {plan.error && <ErrorNote>{plan.error}</ErrorNote>}
      <ErrorNote error={cancel.error ?? rerun.error} />
      <table className="table runs-table" aria-label="Test runs">
        <colgroup>
          <col />
          <col className="col-status" />
          <col className="col-duration" />
          <col className="col-failure" />
        </colgroup>
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
      <MoreRuns plan={plan} />
    </div>
  );
}

/** A text filter typed into: the URL follows after a pause, not at every key. */
function TextFilter({ name, label, value, onChange }: { name: string; label: string; value: string; onChange: (v: string) => void }) {
  return (
    <label className={name === "q" ? "grow" : undefined}>
      <span className="sr-only">{label}</span>
      <DebouncedInput type="search" aria-label={label} placeholder={label} value={value} onCommit={onChange} />
    </label>
  );
}

function PlanFilters({ params, set }: { params: URLSearchParams; set: (changes: Partial<Record<Filter, string>>) => void }) {
  const any = FILTERS.some((f) => params.get(f));
  return (
    <div className="filters plan-filters" role="search" aria-label="Plan filters">
      <TextFilter name="q" label="Search plans" value={params.get("q") ?? ""} onChange={(v) => set({ q: v })} />
      <label>
        <span className="sr-only">Status</span>
        <select aria-label="Status" value={params.get("status") ?? ""} onChange={(e) => set({ status: e.target.value })}>
          <option value="">Any status</option>
          {PLAN_STATUSES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
      </label>
      <label>
        <span className="sr-only">Trigger</span>
        <select aria-label="Trigger" value={params.get("trigger") ?? ""} onChange={(e) => set({ trigger: e.target.value })}>
          <option value="">Any trigger</option>
          {TRIGGERS.map((t) => (
            <option key={t} value={t}>
              {t}
            </option>
          ))}
        </select>
      </label>
      <TextFilter name="tag" label="Tag" value={params.get("tag") ?? ""} onChange={(v) => set({ tag: v })} />
      <label className="inline">
        <span className="muted small">From</span>
        <input type="date" aria-label="Created from" value={params.get("from") ?? ""} onChange={(e) => set({ from: e.target.value })} />
      </label>
      <label className="inline">
        <span className="muted small">To</span>
        <input type="date" aria-label="Created to" value={params.get("to") ?? ""} onChange={(e) => set({ to: e.target.value })} />
      </label>
      {any && (
        <button type="button" className="ghost" onClick={() => set(Object.fromEntries(FILTERS.map((f) => [f, ""])))}>
          Clear filters
        </button>
      )}
    </div>
  );
}

export function ExecutionPage() {
  const { planId } = useParams();
  const { projectId } = useProject();
  const [params, setParams] = useSearchParams();
  const query = planQuery(params, projectId);
  const plans = useQuery({
    queryKey: ["plans", query],
    queryFn: () => get<Page<Plan>>("/execution/plans", query),
    enabled: !!projectId,
    placeholderData: (previous) => previous,
  });
  const set = (changes: Partial<Record<Filter | "page", string>>) =>
    setParams(
      (prev) => {
        const next = new URLSearchParams(prev);
        for (const [k, v] of Object.entries(changes)) {
          if (v) next.set(k, v);
          else next.delete(k);
        }
        if (!("page" in changes)) next.delete("page"); // a new filter starts at the first page
        return next;
      },
      { replace: true },
    );
  const items = plans.data?.items ?? [];
  const running = items.filter((p) => p.status === "running");
  const queued = items.filter((p) => p.status === "queued").reverse();
  const finished = items.filter((p) => !ACTIVE.has(p.status));
  const selected = planId ?? running[0]?.id ?? queued[0]?.id ?? finished[0]?.id;
  const filtered = FILTERS.some((f) => params.get(f));
  const search = params.toString();
  const page = Math.max(0, Number(params.get("page") ?? 0) || 0);
  const total = plans.data?.total ?? 0;

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
            <PlanRow key={p.id} plan={p} active={p.id === selected} search={search ? `?${search}` : ""} />
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
      <PlanFilters params={params} set={set} />
      <ErrorNote error={plans.error} />
      {plans.data && items.length === 0 && !filtered && page === 0 && !planId ? (
        <Empty title="Nothing has run yet">Select test cases and press “Run selected”, or generate tests.</Empty>
      ) : (
        <div className="split">
          <div className="plan-list">
            {plans.data && items.length === 0 ? (
              <p className="muted" role="status">
                No plan matches these filters.
              </p>
            ) : (
              <>
                {group("Running", running)}
                {group("Queued", queued)}
                {group("Finished", finished)}
              </>
            )}
            {total > PAGE_SIZE && (
              <div className="pager" role="navigation" aria-label="Plan pages">
                <span className="muted small">
                  {page * PAGE_SIZE + 1}–{Math.min(total, (page + 1) * PAGE_SIZE)} of {total}
                </span>
                <button type="button" disabled={page === 0} onClick={() => set({ page: page > 1 ? String(page - 1) : "" })}>
                  Previous
                </button>
                <button type="button" disabled={(page + 1) * PAGE_SIZE >= total} onClick={() => set({ page: String(page + 1) })}>
                  Next
                </button>
              </div>
            )}
          </div>
          <div className="plan-pane">{selected ? <PlanView id={selected} /> : <p className="muted">Select a plan.</p>}</div>
        </div>
      )}
    </section>
  );
}
