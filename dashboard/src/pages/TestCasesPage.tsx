import { lazy, Suspense, useContext, useEffect, useRef, useState } from "react";
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import {
  Link,
  UNSAFE_NavigationContext,
  useLocation,
  useNavigate,
  useSearchParams,
  type SetURLSearchParams,
} from "react-router-dom";
import { get, post, type Query } from "../api/client";
import {
  ORIGINS,
  PRIORITIES,
  TEST_STATUSES,
  type Origin,
  type Page,
  type Plan,
  type Priority,
  type TestCase,
  type TestStatus,
} from "../api/types";
import { useSession } from "../auth/session";
import { useProject } from "../components/project";
import { ago, DebouncedInput, Empty, ErrorNote, PriorityTag, seconds, StatusBadge } from "../components/ui";
import TestCaseEditor from "./TestCaseEditor";

const GenerateDialog = lazy(() => import("./GenerateDialog"));

const PAGE_SIZE = 50;
const SORTS = ["created_at", "updated_at", "title", "priority", "status"] as const;
type Sort = (typeof SORTS)[number];

export interface Filters {
  q: string;
  status: TestStatus | "";
  origin: Origin | "";
  priority: Priority | "";
  tag: string;
  sort: Sort;
  order: "asc" | "desc";
  archived: boolean;
}

/**
 * The list's view state, all of it in the URL (so a reload or a link shows the same
 * view): these filters, a default left out; `page` (from 0) with `cursor`, the server's
 * cursor for that page when the Next button led there (else the page is read by
 * offset); and `project` (see `useProjectParam`).
 */
const FILTERS = ["q", "status", "origin", "priority", "tag", "sort", "order", "archived"] as const;
type Filter = (typeof FILTERS)[number];
type Change = Partial<Record<Filter | "page" | "cursor", string>>;

/** `value` if it is one of `list`, else undefined (a hand-edited URL shows the default). */
const oneOf = <T extends string>(list: readonly T[], value: string | null): T | undefined => list.find((x) => x === value);

export function readFilters(params: URLSearchParams): Filters {
  return {
    q: params.get("q") ?? "",
    status: oneOf(TEST_STATUSES, params.get("status")) ?? "",
    origin: oneOf(ORIGINS, params.get("origin")) ?? "",
    priority: oneOf(PRIORITIES, params.get("priority")) ?? "",
    tag: params.get("tag") ?? "",
    sort: oneOf(SORTS, params.get("sort")) ?? "created_at",
    order: params.get("order") === "asc" ? "asc" : "desc",
    archived: params.get("archived") === "1",
  };
}

/** The page shown, from 0. */
const pageOf = (params: URLSearchParams) => Math.max(0, Math.floor(Number(params.get("page") ?? 0)) || 0);

/** What `GET /tests` is asked for the view in `params`. */
export function testQuery(params: URLSearchParams, projectId: string | null | undefined): Query {
  const f = readFilters(params);
  const cursor = params.get("cursor");
  return {
    project_id: projectId,
    q: f.q,
    status: f.status,
    origin: f.origin,
    priority: f.priority,
    tag: f.tag.trim(),
    sort: f.sort,
    order: f.order,
    include_archived: f.archived || undefined,
    limit: PAGE_SIZE,
    cursor,
    offset: cursor ? undefined : pageOf(params) * PAGE_SIZE || undefined,
  };
}

/** What the router's navigator is under BrowserRouter and MemoryRouter: a history. */
type HistoryLike = { location: { pathname: string } };

/**
 * The listed project, in the URL too (`project`), so a link opens the project it was
 * made in. A link (or Back) naming another known project selects it in the top bar;
 * choosing another there rewrites the URL, from the first page. True when the URL and
 * the top bar agree: only then is the list read (never the other project's).
 */
function useProjectParam(params: URLSearchParams, setParams: SetURLSearchParams): boolean {
  const { projects, projectId, setProjectId } = useProject();
  const { pathname } = useLocation();
  const history = useContext(UNSAFE_NavigationContext).navigator as Partial<HistoryLike>;
  const linked = params.get("project");
  const known = projects.some((p) => p.id === linked);
  // The project the URL and the top bar last agreed on: tells which of them changed.
  const agreed = useRef<string | null>(null);
  useEffect(() => {
    if (!projectId) return;
    if (linked && linked !== projectId && linked !== agreed.current && known) {
      setProjectId(linked);
      return;
    }
    agreed.current = projectId;
    if (linked === projectId) return;
    // The projects can arrive as the person leaves (a click on Projects right after
    // logging in): setParams navigates relative to this page and would bring them back.
    // The router's history (Browser or Memory) knows where they are now.
    if (history.location && history.location.pathname !== pathname) return;
    setParams(
      (prev) => {
        const next = new URLSearchParams(prev);
        next.set("project", projectId);
        if (linked) {
          // Another project's pages and cursors mean nothing here.
          next.delete("page");
          next.delete("cursor");
        }
        return next;
      },
      { replace: true },
    );
  }, [linked, known, projectId, setProjectId, setParams, pathname, history]);
  return !!projectId && (linked ?? projectId) === projectId;
}

function BulkBar({ ids, projectId, onDone }: { ids: string[]; projectId: string; onDone: () => void }) {
  const client = useQueryClient();
  const navigate = useNavigate();
  const [status, setStatus] = useState<TestStatus | "">("");
  const [tag, setTag] = useState("");
  const [priority, setPriority] = useState<Priority>("medium");
  const [result, setResult] = useState<string | null>(null);
  const run = useMutation({
    mutationFn: () => post<Plan>("/execution/plans", { project_id: projectId, test_case_ids: ids, priority }),
    onSuccess: (plan) => {
      void client.invalidateQueries({ queryKey: ["plans"] });
      void navigate(`/execution/${plan.id}`);
    },
  });
  const bulk = useMutation({
    mutationFn: (body: Record<string, unknown>) => post<{ updated: number }>("/tests/bulk", { ids, ...body }),
    onSuccess: (r) => {
      setResult(`Updated ${r.updated} test case${r.updated === 1 ? "" : "s"}.`);
      void client.invalidateQueries({ queryKey: ["tests"] });
      onDone();
    },
  });
  return (
    <div className="bulkbar" role="region" aria-label="Bulk actions">
      <strong>{ids.length} selected</strong>
      <label className="inline">
        Run priority
        <select value={priority} onChange={(e) => setPriority(e.target.value as Priority)}>
          {PRIORITIES.map((p) => (
            <option key={p}>{p}</option>
          ))}
        </select>
      </label>
      <button type="button" className="primary" onClick={() => run.mutate()} disabled={run.isPending}>
        Run selected
      </button>
      <span className="sep" />
      <label className="inline">
        New status
        <select value={status} onChange={(e) => setStatus(e.target.value as TestStatus)}>
          <option value="">choose…</option>
          {TEST_STATUSES.map((s) => (
            <option key={s}>{s}</option>
          ))}
        </select>
      </label>
      <button type="button" disabled={!status || bulk.isPending} onClick={() => bulk.mutate({ status })}>
        Set status
      </button>
      <span className="sep" />
      <label className="inline">
        Tag
        <input value={tag} onChange={(e) => setTag(e.target.value)} size={10} placeholder="smoke" />
      </label>
      <button type="button" disabled={!tag.trim() || bulk.isPending} onClick={() => bulk.mutate({ add_tags: [tag.trim()] })}>
        Add tag
      </button>
      <button
        type="button"
        disabled={!tag.trim() || bulk.isPending}
        onClick={() => bulk.mutate({ remove_tags: [tag.trim()] })}
      >
        Remove tag
      </button>
      {result && <span className="ok-text" role="status">{result}</span>}
      <ErrorNote error={run.error ?? bulk.error} />
    </div>
  );
}

export function TestCasesPage() {
  const { can } = useSession();
  const { projectId, project, loading } = useProject();
  const [params, setParams] = useSearchParams();
  const inStep = useProjectParam(params, setParams);
  const filters = readFilters(params);
  const page = pageOf(params);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [editing, setEditing] = useState<TestCase | "new" | null>(null);
  const [generating, setGenerating] = useState(false);

  const query = testQuery(params, projectId);
  // A new filter starts again with nothing selected.
  // (Adjusted while rendering, not in an effect: no render with the old selection.)
  const filterKey = JSON.stringify({ ...query, cursor: undefined, offset: undefined });
  const [shownKey, setShownKey] = useState(filterKey);
  if (shownKey !== filterKey) {
    setShownKey(filterKey);
    setSelected(new Set());
  }

  const list = useQuery({
    queryKey: ["tests", query],
    queryFn: () => get<Page<TestCase>>("/tests", query),
    enabled: inStep,
    placeholderData: keepPreviousData,
  });
  const items = list.data?.items ?? [];
  const allSelected = items.length > 0 && items.every((t) => selected.has(t.id));
  /**
   * Change the view in the URL: a filter goes back to the first page. Each choice is a
   * step Back undoes; typing (`replace`) is not.
   */
  const set = (changes: Change, replace = false) =>
    setParams(
      (prev) => {
        const next = new URLSearchParams(prev);
        for (const [k, v] of Object.entries(changes)) {
          if (v) next.set(k, v);
          else next.delete(k);
        }
        if (!("page" in changes)) {
          next.delete("page");
          next.delete("cursor");
        }
        return next;
      },
      { replace },
    );
  const filtered = FILTERS.some((f) => params.get(f));
  const toggle = (id: string) =>
    setSelected((s) => {
      const n = new Set(s);
      if (n.has(id)) n.delete(id);
      else n.add(id);
      return n;
    });
  const start = page * PAGE_SIZE;

  if (!loading && !projectId) {
    return (
      <section>
        <h1>Test Cases</h1>
        <Empty title="No project yet">Create a project on the Projects page first.</Empty>
      </section>
    );
  }

  return (
    <section>
      <div className="page-head">
        <h1>
          Test Cases <span className="muted">{project?.name}</span>
        </h1>
        {can("editor") && projectId && (
          <div className="head-actions">
            <button type="button" onClick={() => setGenerating(true)}>
              <span aria-hidden="true">✦ </span>AI Generate Tests
            </button>
            <button type="button" className="primary" onClick={() => setEditing("new")}>
              New test case
            </button>
          </div>
        )}
      </div>

      <div className="filters" role="search" aria-label="Filter test cases">
        <DebouncedInput
          type="search"
          aria-label="Search test cases"
          placeholder="Search title, description, code…"
          value={filters.q}
          onCommit={(v) => set({ q: v }, true)}
          delay={250}
          className="grow"
        />
        <select aria-label="Status filter" value={filters.status} onChange={(e) => set({ status: e.target.value })}>
          <option value="">Any status</option>
          {TEST_STATUSES.map((s) => (
            <option key={s}>{s}</option>
          ))}
        </select>
        <select aria-label="Origin filter" value={filters.origin} onChange={(e) => set({ origin: e.target.value })}>
          <option value="">Any origin</option>
          {ORIGINS.map((s) => (
            <option key={s}>{s}</option>
          ))}
        </select>
        <select aria-label="Priority filter" value={filters.priority} onChange={(e) => set({ priority: e.target.value })}>
          <option value="">Any priority</option>
          {PRIORITIES.map((s) => (
            <option key={s}>{s}</option>
          ))}
        </select>
        <DebouncedInput
          aria-label="Tag filter"
          aria-describedby="tag-hint"
          placeholder="Tag, or api* for a prefix"
          title="A tag exactly (api), or every tag starting with it when it ends in * (api* matches api, api:v2)"
          value={filters.tag}
          onCommit={(v) => set({ tag: v }, true)}
          delay={250}
          size={18}
        />
        <span id="tag-hint" className="sr-only">
          A tag exactly, or every tag starting with the text before a trailing star: api* matches api and api:v2.
        </span>
        <button
          type="button"
          className="toggle"
          aria-pressed={filters.archived}
          title={filters.archived ? "Archived test cases are listed" : "Archived test cases are hidden"}
          onClick={() => set({ archived: filters.archived ? "" : "1" })}
          disabled={filters.status !== ""}
        >
          Show archived
        </button>
        <select aria-label="Sort by" value={filters.sort} onChange={(e) => set({ sort: e.target.value === "created_at" ? "" : e.target.value })}>
          <option value="created_at">Created</option>
          <option value="updated_at">Updated</option>
          <option value="title">Title</option>
          <option value="priority">Priority</option>
          <option value="status">Status</option>
        </select>
        <button
          type="button"
          aria-label={filters.order === "desc" ? "Sort descending (click for ascending)" : "Sort ascending (click for descending)"}
          onClick={() => set({ order: filters.order === "desc" ? "asc" : "" })}
        >
          {filters.order === "desc" ? "↓" : "↑"}
        </button>
      </div>

      {can("editor") && selected.size > 0 && projectId && (
        <BulkBar ids={[...selected]} projectId={projectId} onDone={() => undefined} />
      )}
      <ErrorNote error={list.error} />

      <table className={`table${list.isPlaceholderData ? " stale" : ""}`} aria-label="Test cases" aria-busy={list.isFetching}>
        <thead>
          <tr>
            {can("editor") && (
              <th className="check">
                <input
                  type="checkbox"
                  aria-label="Select all on this page"
                  checked={allSelected}
                  onChange={() =>
                    setSelected(allSelected ? new Set() : new Set(items.map((t) => t.id)))
                  }
                />
              </th>
            )}
            <th>Title</th>
            <th>Status</th>
            <th>Priority</th>
            <th>Origin</th>
            <th>Tags</th>
            <th>Last result</th>
            <th>Updated</th>
          </tr>
        </thead>
        <tbody>
          {items.map((t) => (
            <tr key={t.id} className={selected.has(t.id) ? "selected" : undefined}>
              {can("editor") && (
                <td className="check">
                  <input type="checkbox" aria-label={`Select ${t.title}`} checked={selected.has(t.id)} onChange={() => toggle(t.id)} />
                </td>
              )}
              <td>
                <button type="button" className="link" onClick={() => setEditing(t)}>
                  {t.title}
                </button>{" "}
                <Link to={`/tests/${t.id}`} className="small" aria-label={`Page of ${t.title}`} title="Its page: history of runs">
                  history
                </Link>
                {t.reference && <div className="muted small mono">{t.reference}</div>}
              </td>
              <td>
                <StatusBadge status={t.status} />
              </td>
              <td>
                <PriorityTag priority={t.priority} />
              </td>
              <td>{t.origin}</td>
              <td>
                {t.tags.map((g) => (
                  <span key={g} className="tag">
                    {g}
                  </span>
                ))}
              </td>
              <td className="last-result">
                {t.last_run ? (
                  <Link to={`/tests/${t.id}`} aria-label={`Last result of ${t.title}: ${t.last_run.status}`} title={`Finished ${ago(t.last_run.finished_at)}`}>
                    <StatusBadge status={t.last_run.status} /> <span className="small muted">{seconds(t.last_run.duration_s)}</span>
                  </Link>
                ) : (
                  <span className="muted small">not run</span>
                )}
              </td>
              <td className="muted">{new Date(t.updated_at).toLocaleString()}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {list.data && items.length === 0 && (
        <Empty title="No test cases match">
          {filtered ? "Change the filters." : "Write one, import the project's tests, or generate some."}
        </Empty>
      )}
      <nav className="pager" aria-label="Pagination">
        <span className="muted">
          {list.data ? `${list.data.total ? start + 1 : 0}–${start + items.length} of ${list.data.total.toLocaleString()}` : "…"}
        </span>
        {/* Back shows the page before as it was read; this button reads it by offset. */}
        <button type="button" disabled={page === 0} onClick={() => set({ page: page > 1 ? String(page - 1) : "", cursor: "" })}>
          Previous page
        </button>
        <button
          type="button"
          disabled={!list.data?.next_cursor}
          onClick={() => {
            const next = list.data?.next_cursor;
            if (next) set({ page: String(page + 1), cursor: next });
          }}
        >
          Next page
        </button>
      </nav>

      {editing && projectId && (
        <TestCaseEditor
          projectId={projectId}
          existing={editing === "new" ? undefined : editing}
          readOnly={!can("editor")}
          onClose={() => setEditing(null)}
        />
      )}
      {generating && projectId && (
        <Suspense fallback={null}>
          <GenerateDialog projectId={projectId} onClose={() => setGenerating(false)} />
        </Suspense>
      )}
    </section>
  );
}
