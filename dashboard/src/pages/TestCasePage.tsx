import { useEffect, useRef, useState } from "react";
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Link, useNavigate, useParams } from "react-router-dom";
import { ApiError, del, get, post } from "../api/client";
import type { Page, Plan, TestCase, TestRunHistory } from "../api/types";
import { useSession } from "../auth/session";
import { RunHistoryChart } from "../components/charts";
import { ConfirmDialog } from "../components/confirm";
import { ago, Empty, ErrorNote, PriorityTag, seconds, StatusBadge } from "../components/ui";
import TestCaseEditor from "./TestCaseEditor";

const PAGE_SIZE = 50;
const ACTIVE = ["queued", "running"];

/** Start a plan of this one test case and go to it (the editor's and the page's Run). */
export function useRunTest(testCase: Pick<TestCase, "id" | "project_id" | "title"> | undefined) {
  const client = useQueryClient();
  const navigate = useNavigate();
  return useMutation({
    mutationFn: () =>
      post<Plan>("/execution/plans", {
        project_id: testCase!.project_id,
        test_case_ids: [testCase!.id],
        name: testCase!.title.slice(0, 200),
      }),
    onSuccess: (plan) => {
      void client.invalidateQueries({ queryKey: ["plans"] });
      void client.invalidateQueries({ queryKey: ["test-runs", testCase!.id] });
      void client.invalidateQueries({ queryKey: ["test", testCase!.id] });
      void navigate(`/execution/${plan.id}`);
    },
  });
}

/** The line of a failure that says what failed: pytest's first `E` line, else its last line. */
export function failureHeadline(failure: string): string {
  const lines = failure.split("\n").map((l) => l.trim()).filter(Boolean);
  const e = lines.find((l) => l.startsWith("E "));
  return (e ? e.slice(2).trim() : lines[lines.length - 1]) ?? "";
}

function planLabel(r: TestRunHistory): string {
  return r.plan_name || `plan ${r.plan_id.slice(0, 8)}`;
}

function RunsTable({ runs }: { runs: TestRunHistory[] }) {
  return (
    <table className="table" aria-label="Runs of this test">
      <thead>
        <tr>
          <th>Result</th>
          <th className="num">Duration</th>
          <th>Plan</th>
          <th>Snapshot</th>
          <th>When</th>
          <th>Failure</th>
        </tr>
      </thead>
      <tbody>
        {runs.map((r) => (
          <tr key={r.id} data-status={r.status}>
            <td>
              <StatusBadge status={r.status} />
              {r.attempt > 1 && <span className="muted small"> attempt {r.attempt}</span>}
            </td>
            <td className="num">{seconds(r.duration_s)}</td>
            <td className="cell-clip">
              <Link to={`/execution/${r.plan_id}`} title={planLabel(r)}>
                {planLabel(r)}
              </Link>{" "}
              <span className="muted small">· {r.plan_trigger}</span>
            </td>
            <td className="mono small" title={r.snapshot_hash ?? "not taken yet"}>
              {r.snapshot_hash ? r.snapshot_hash.slice(0, 10) : "—"}
            </td>
            <td title={new Date(r.finished_at ?? r.created_at).toLocaleString()}>
              {ago(r.finished_at ?? r.created_at)}
            </td>
            <td className="history-failure">
              {r.failure ? (
                <details>
                  <summary title={failureHeadline(r.failure)}>{failureHeadline(r.failure)}</summary>
                  <pre className="failure">{r.failure}</pre>
                </details>
              ) : (
                <span className="muted">—</span>
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** A test case's own page: its code and metadata, last result, history of runs, and Run. */
export function TestCasePage() {
  const { testId = "" } = useParams();
  const { can } = useSession();
  const client = useQueryClient();
  const navigate = useNavigate();
  const [editing, setEditing] = useState(false);
  const [deleting, setDeleting] = useState(false);
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const cursor = cursors[cursors.length - 1];

  const test = useQuery({ queryKey: ["test", testId], queryFn: () => get<TestCase>(`/tests/${testId}`) });
  const runs = useQuery({
    queryKey: ["test-runs", testId, cursor],
    queryFn: () => get<Page<TestRunHistory>>(`/tests/${testId}/runs`, { limit: PAGE_SIZE, cursor }),
    placeholderData: keepPreviousData,
    // While one of its runs is queued or running, follow it until it ends.
    refetchInterval: (q) => (q.state.data?.items.some((r) => ACTIVE.includes(r.status)) ? 1500 : false),
  });
  const items = runs.data?.items ?? [];
  const anyActive = items.some((r) => ACTIVE.includes(r.status));
  // The last result changes when a run ends: read the case again then.
  const wasActive = useRef(false);
  useEffect(() => {
    if (wasActive.current && !anyActive) void client.invalidateQueries({ queryKey: ["test", testId] });
    wasActive.current = anyActive;
  }, [anyActive, client, testId]);
  const run = useRunTest(test.data);
  const remove = useMutation({
    mutationFn: () => del(`/tests/${testId}`),
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: ["tests"] });
      void client.invalidateQueries({ queryKey: ["projects"] });
      void navigate("/tests");
    },
  });

  if (test.error) {
    const gone = test.error instanceof ApiError && test.error.status === 404;
    return (
      <section>
        <h1>Test case</h1>
        {gone ? (
          <Empty title="No such test case">
            It may have been deleted. <Link to="/tests">Back to Test Cases</Link>
          </Empty>
        ) : (
          <ErrorNote error={test.error} />
        )}
      </section>
    );
  }
  const t = test.data;
  if (!t) return <p className="muted">Loading…</p>;
  const last = t.last_run;
  const chartRuns = [...items]
    .reverse()
    .map((r) => ({ id: r.id, status: r.status, duration_s: r.duration_s, when: new Date(r.finished_at ?? r.created_at).toLocaleString() }));

  return (
    <section className="test-page">
      <nav className="crumbs small" aria-label="Breadcrumb">
        <Link to="/tests">Test Cases</Link> <span aria-hidden="true">›</span>
      </nav>
      <div className="page-head">
        <h1 className="title-wrap" title={t.title}>
          {t.title}
        </h1>
        {can("editor") && (
          <div className="head-actions">
            <button type="button" onClick={() => setEditing(true)}>
              Edit test case
            </button>
            <button type="button" className="danger ghost" onClick={() => setDeleting(true)}>
              Delete test case
            </button>
            <button type="button" className="primary" onClick={() => run.mutate()} disabled={run.isPending}>
              {run.isPending ? "Starting…" : "Run test"}
            </button>
          </div>
        )}
      </div>
      <ErrorNote error={run.error ?? remove.error} />
      <dl className="meta" aria-label="Test case details">
        <div>
          <dt>Status</dt>
          <dd>
            <StatusBadge status={t.status} />
          </dd>
        </div>
        <div>
          <dt>Priority</dt>
          <dd>
            <PriorityTag priority={t.priority} />
          </dd>
        </div>
        <div>
          <dt>Origin</dt>
          <dd>{t.origin}</dd>
        </div>
        <div>
          <dt>Tags</dt>
          <dd>
            {t.tags.length
              ? t.tags.map((g) => (
                  <span key={g} className="tag">
                    {g}
                  </span>
                ))
              : <span className="muted">none</span>}
          </dd>
        </div>
        {t.target && (
          <div>
            <dt>Target</dt>
            <dd>
              <code>{t.target}</code>
            </dd>
          </div>
        )}
        <div>
          <dt>Updated</dt>
          <dd title={new Date(t.updated_at).toLocaleString()}>
            {ago(t.updated_at)} · version {t.version}
          </dd>
        </div>
        <div role="group" aria-label="Last result">
          <dt>Last result</dt>
          <dd>
            {last ? (
              <>
                <StatusBadge status={last.status} /> {seconds(last.duration_s)}{" "}
                <Link to={`/execution/${last.plan_id}`} className="small">
                  {ago(last.finished_at)}
                </Link>
              </>
            ) : (
              <span className="muted">never run</span>
            )}
          </dd>
        </div>
      </dl>
      {t.description && <p className="description">{t.description}</p>}

      <div className="test-page-grid">
        <figure className="card" aria-label="Code">
          <figcaption>{t.reference ? "Runs the project's own test" : "Code"}</figcaption>
          {t.reference ? <code className="mono">{t.reference}</code> : <pre className="code code-view">{t.code}</pre>}
        </figure>
        <figure className="card" aria-label="Run history chart">
          <figcaption>
            Duration and outcome, last {items.length} run{items.length === 1 ? "" : "s"}
          </figcaption>
          {items.length ? (
            <>
              <RunHistoryChart runs={chartRuns} />
              <div className="chart-key small muted">
                <span className="key key-ok">passed</span> <span className="key key-bad">failed</span>{" "}
                <span className="key key-warn">error</span> <span className="key key-muted">skipped, cancelled or not finished</span>
              </div>
            </>
          ) : (
            <p className="muted small">No runs yet.</p>
          )}
        </figure>
      </div>

      <h2>
        Runs <span className="muted small">{runs.data ? `${runs.data.total} in all` : ""}</span>
      </h2>
      <ErrorNote error={runs.error} />
      {runs.data && items.length === 0 ? (
        <Empty title="Not run yet">{can("editor") ? "Run it to see its result here." : "Its runs will be listed here."}</Empty>
      ) : (
        <RunsTable runs={items} />
      )}
      {(cursors.length > 1 || runs.data?.next_cursor) && (
        <nav className="pager" aria-label="Pagination">
          <span className="muted" />
          <button type="button" disabled={cursors.length === 1} onClick={() => setCursors((c) => c.slice(0, -1))}>
            Newer runs
          </button>
          <button
            type="button"
            disabled={!runs.data?.next_cursor}
            onClick={() => {
              const next = runs.data?.next_cursor;
              if (next) setCursors((c) => [...c, next]);
            }}
          >
            Older runs
          </button>
        </nav>
      )}

      {editing && (
        <TestCaseEditor projectId={t.project_id} existing={t} readOnly={!can("editor")} onClose={() => setEditing(false)} />
      )}
      {deleting && (
        <ConfirmDialog
          title="Delete this test case?"
          confirm="Delete"
          busy={remove.isPending}
          onCancel={() => setDeleting(false)}
          onConfirm={() => remove.mutate()}
        >
          <p>
            <strong>{t.title}</strong> is deleted for good. Its past runs stay in their plans. To keep it but stop
            running it, set its status to <em>archived</em> instead.
          </p>
        </ConfirmDialog>
      )}
    </section>
  );
}
