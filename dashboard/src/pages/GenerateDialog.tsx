import { useEffect, useState, type FormEvent } from "react";
import { useMutation, useQuery } from "@tanstack/react-query";
import { Link } from "react-router-dom";
import { ApiError, get, post, unavailable } from "../api/client";
import {
  GENERATION_ACTIVE,
  type Candidate,
  type GenerateAccepted,
  type GenerateRequest,
  type Generation,
  type GenerationEvent,
  type Symbols,
} from "../api/types";
import type { LiveEvent } from "../live/eventLog";
import { useLive } from "../live/LiveProvider";
import { ErrorNote, Modal, StatusBadge } from "../components/ui";
import { codeProblem } from "./TestCaseEditor";

/** A generation is over once it is neither queued nor running (`finished` or `error`). */
export const generationDone = (g: Pick<Generation, "status" | "finished_at">): boolean =>
  !GENERATION_ACTIVE.includes(g.status) || !!g.finished_at;

const GENERATION_EVENTS: ReadonlySet<string> = new Set<GenerationEvent["type"]>([
  "generation.started",
  "generation.targets",
  "generation.phase",
  "generation.candidate",
  "generation.error",
  "generation.finished",
]);

/** The event's payload, when it is one of generation `id`'s events (typed by the envelope's `type`). */
export function generationEvent(ev: LiveEvent, id: string): GenerationEvent | null {
  if (!GENERATION_EVENTS.has(ev.type) || ev.payload.generation_id !== id) return null;
  return { ...ev.payload, type: ev.type } as GenerationEvent;
}

const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? "" : "s"}`;

/** One line of the progress log, from what the server's event says. */
export function logLine(ev: GenerationEvent): string {
  switch (ev.type) {
    case "generation.started":
      return `started (${ev.engine} engine)`;
    case "generation.targets":
      return `${plural(ev.targets.length, "target")}: ${ev.targets.map((t) => t.name).join(", ") || "none"}`;
    case "generation.phase": {
      const phase = ev.phase.replace(/_/g, " ");
      return ev.candidates != null ? `${phase} ${plural(ev.candidates, "candidate")}` : phase;
    }
    case "generation.candidate":
      return `${ev.candidate.name}: ${ev.candidate.verdict}`;
    case "generation.error":
      return `error: ${ev.message}`;
    case "generation.finished":
      return ev.status === "finished"
        ? `finished: ${plural(ev.candidates ?? 0, "candidate")}, ${ev.accepted ?? 0} accepted`
        : `${ev.status}${ev.error ? `: ${ev.error}` : ""}`;
  }
}

const LOG_LINES = 200;

/** What to offer as targets: the symbols' `target`s (pkg.module:Qual.name). */
export function symbolNames(data: Symbols | undefined): string[] {
  return (data?.items ?? []).map((s) => s.target).slice(0, 50);
}

/** A candidate the server did not run: the same code as an existing test (or another candidate). */
export function duplicateOf(c: Pick<Candidate, "runs_total" | "failure">): string | null {
  return c.runs_total === 0 && c.failure?.startsWith("duplicate of ") ? c.failure.slice("duplicate of ".length) : null;
}

function CandidateCard({ c, planId }: { c: Candidate; planId: string | null }) {
  const [open, setOpen] = useState(c.verdict === "accepted");
  const covered = c.target_lines_covered?.length ?? 0;
  const duplicate = duplicateOf(c);
  return (
    <article className={`candidate candidate-${c.verdict}`} aria-label={`Candidate ${c.name}`}>
      <header>
        {duplicate ? (
          <span className="badge badge-muted" data-status="duplicate" title="Verdict: duplicate (not run)">
            duplicate
          </span>
        ) : (
          <StatusBadge status={c.verdict} label="Verdict" />
        )}
        <strong className="mono">{c.name}</strong>
        <span className="muted small">{c.target}</span>
        <span className="spacer" />
        <span className="small">
          {duplicate
            ? `duplicate of ${duplicate} · not run`
            : c.runs_total === 0
              ? "not run"
              : `runs ${c.runs_passed}/${c.runs_total} · ${covered} target line${covered === 1 ? "" : "s"} covered`}
        </span>
      </header>
      {c.failure && !duplicate && <pre className="failure">{c.failure}</pre>}
      <div className="candidate-links">
        {c.test_case_id && <span className="small">Saved as test case <code>{c.test_case_id.slice(0, 8)}</code></span>}
        {c.test_case_id && planId && (
          <Link to={`/execution/${planId}`} className="small">
            View its run
          </Link>
        )}
        <button type="button" className="ghost small" onClick={() => setOpen((o) => !o)} aria-expanded={open}>
          {open ? "Hide code" : "Show code"}
        </button>
      </div>
      {open && <pre className="code">{c.code}</pre>}
    </article>
  );
}

function Progress({ id }: { id: string }) {
  const { subscribe } = useLive();
  const [log, setLog] = useState<{ type: GenerationEvent["type"]; text: string }[]>([]);
  useEffect(
    () =>
      subscribe((live) => {
        const ev = generationEvent(live, id);
        if (ev) setLog((l) => [...l.slice(1 - LOG_LINES), { type: ev.type, text: logLine(ev) }]);
      }),
    [id, subscribe],
  );
  const q = useQuery({
    queryKey: ["generation", id],
    queryFn: () => get<Generation>(`/generations/${id}`),
    refetchInterval: (query) => {
      const g = query.state.data;
      return g && generationDone(g) ? false : 1500;
    },
  });
  const g = q.data;
  if (q.error) return <ErrorNote>{unavailable(q.error, "Reading generations") ?? q.error.message}</ErrorNote>;
  if (!g) return <p className="muted">Starting…</p>;
  const done = generationDone(g);
  const accepted = g.candidates.filter((c) => c.verdict === "accepted");
  return (
    <div className="generation">
      <div className="gen-head">
        <StatusBadge status={g.status} label="Generation status" live />
        {!done && <span className="spinner" aria-hidden="true" />}
        <span>
          {g.candidates.length} candidate{g.candidates.length === 1 ? "" : "s"} checked, {accepted.length} accepted
        </span>
        <span className="spacer" />
        {g.plan_id && (
          <Link to={`/execution/${g.plan_id}`} className="button">
            Open the plan running them
          </Link>
        )}
        {accepted.length > 0 && (
          <Link to="/tests" className="button ghost">
            See them in Test Cases
          </Link>
        )}
      </div>
      {g.error && <ErrorNote>{g.error}</ErrorNote>}
      {log.length > 0 && (
        <ol className="gen-log" aria-label="Generation progress">
          {log.map((l, i) => (
            <li key={i} data-event={l.type}>
              {l.text}
            </li>
          ))}
        </ol>
      )}
      {g.candidates.map((c, i) => (
        <CandidateCard key={c.id ?? i} c={c} planId={g.plan_id} />
      ))}
    </div>
  );
}

export default function GenerateDialog({ projectId, onClose }: { projectId: string; onClose: () => void }) {
  const [mode, setMode] = useState<"diff" | "function">("function");
  const [diff, setDiff] = useState("");
  const [target, setTarget] = useState("");
  const [source, setSource] = useState("");
  const [engine, setEngine] = useState<"builtin" | "llm">("builtin");
  const [maxTests, setMaxTests] = useState(10);
  const [autoExecute, setAutoExecute] = useState(true);
  const [id, setId] = useState<string | null>(null);

  const symbols = useQuery({
    queryKey: ["symbols", projectId, target],
    queryFn: () => get<Symbols>(`/projects/${projectId}/symbols`, { q: target }),
    enabled: mode === "function",
    staleTime: 60_000,
    placeholderData: (prev) => prev,
  });
  const names = symbolNames(symbols.data);

  const start = useMutation({
    mutationFn: () =>
      post<GenerateAccepted>("/tests/generate", {
        project_id: projectId,
        mode,
        engine,
        max_tests: maxTests,
        auto_execute: autoExecute,
        ...(mode === "diff" ? { diff } : { target: target || undefined, source: source || undefined }),
      } satisfies GenerateRequest),
    onSuccess: (r) => setId(r.generation_id),
  });

  const upload = async (file: File | undefined) => {
    if (file) setDiff(await file.text());
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    start.mutate();
  };
  const missing = unavailable(start.error, "AI test generation");
  const sourceProblem = codeProblem(start.error);

  return (
    <Modal title="AI Generate Tests" onClose={onClose} wide>
      {id ? (
        <Progress id={id} />
      ) : (
        <form className="form" onSubmit={submit}>
          {missing ? (
            <ErrorNote>{missing} Ask your administrator to update Assay.</ErrorNote>
          ) : start.error instanceof ApiError && start.error.status === 413 ? (
            <ErrorNote>The input is too large: {start.error.message}</ErrorNote>
          ) : (
            <ErrorNote error={start.error} />
          )}
          <fieldset className="segmented">
            <legend>Generate from</legend>
            <label>
              <input type="radio" name="mode" checked={mode === "function"} onChange={() => setMode("function")} /> A function
            </label>
            <label>
              <input type="radio" name="mode" checked={mode === "diff"} onChange={() => setMode("diff")} /> A diff
            </label>
          </fieldset>
          {mode === "diff" ? (
            <>
              <label>
                Diff (unified, as from git diff)
                <textarea
                  className="mono"
                  rows={10}
                  value={diff}
                  onChange={(e) => setDiff(e.target.value)}
                  placeholder={"--- a/pkg/mod.py\n+++ b/pkg/mod.py\n@@ ..."}
                  required
                />
              </label>
              <label>
                Upload a .patch file
                <input type="file" accept=".patch,.diff,text/x-diff,text/plain" onChange={(e) => void upload(e.target.files?.[0])} />
              </label>
            </>
          ) : (
            <>
              <label>
                Function
                <input
                  role="combobox"
                  aria-autocomplete="list"
                  aria-expanded={names.length > 0}
                  list="symbol-options"
                  value={target}
                  onChange={(e) => setTarget(e.target.value)}
                  placeholder="pkg.module:function or pkg.module:Class.method"
                  autoComplete="off"
                />
                <datalist id="symbol-options">
                  {names.map((n) => (
                    <option key={n} value={n} />
                  ))}
                </datalist>
              </label>
              {symbols.error && (
                <p className="muted small">
                  {unavailable(symbols.error, "Symbol suggestions") ?? "Symbol suggestions failed to load."} Type the target by hand.
                </p>
              )}
              <label>
                Source (optional, when the function is not in the project)
                <textarea className="mono" rows={5} value={source} onChange={(e) => setSource(e.target.value)} />
              </label>
              {sourceProblem && (
                <p className="bad-text" role="alert">
                  Source line {sourceProblem.line}
                  {sourceProblem.column ? `, column ${sourceProblem.column}` : ""}: {sourceProblem.message}
                </p>
              )}
            </>
          )}
          <div className="grid-3">
            <label>
              Engine
              <select value={engine} onChange={(e) => setEngine(e.target.value as "builtin" | "llm")}>
                <option value="builtin">Built-in (offline)</option>
                <option value="llm">LLM (configured provider)</option>
              </select>
            </label>
            <label>
              Max tests
              <input type="number" min={1} max={100} value={maxTests} onChange={(e) => setMaxTests(Number(e.target.value))} />
            </label>
            <label className="check-label">
              <input type="checkbox" checked={autoExecute} onChange={(e) => setAutoExecute(e.target.checked)} /> Run accepted tests at once
            </label>
          </div>
          <div className="actions">
            <button type="button" onClick={onClose}>
              Cancel
            </button>
            <button type="submit" className="primary" disabled={start.isPending || (mode === "function" && !target && !source)}>
              {start.isPending ? "Starting…" : "Generate"}
            </button>
          </div>
        </form>
      )}
    </Modal>
  );
}
