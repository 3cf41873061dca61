import { lazy, Suspense, useState, type FormEvent } from "react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { Link } from "react-router-dom";
import { ApiError, patch, post } from "../api/client";
import { PRIORITIES, TEST_STATUSES, type Priority, type TestCase, type TestStatus } from "../api/types";
import { ErrorNote, Modal } from "../components/ui";
import type { CodeProblem } from "../components/CodeEditor";
import { useRunTest } from "./TestCasePage";

const CodeEditor = lazy(() => import("../components/CodeEditor"));

const TEMPLATE = `def test_example():
    assert 1 + 1 == 2
`;

/** The code problem of a 422 (its line and column), if the server reported one. */
export function codeProblem(err: unknown): CodeProblem | null {
  if (!(err instanceof ApiError) || err.status !== 422) return null;
  const item = err.items.find((i) => (i.loc ?? []).includes("code"));
  if (!item) return null;
  return { line: item.ctx?.line ?? 1, column: item.ctx?.column ?? null, message: item.msg };
}

export default function TestCaseEditor({
  projectId,
  existing,
  readOnly,
  onClose,
}: {
  projectId: string;
  existing?: TestCase;
  readOnly?: boolean;
  onClose: () => void;
}) {
  const client = useQueryClient();
  const [title, setTitle] = useState(existing?.title ?? "");
  const [description, setDescription] = useState(existing?.description ?? "");
  const [code, setCode] = useState(existing ? existing.code ?? "" : TEMPLATE);
  const [priority, setPriority] = useState<Priority>(existing?.priority ?? "medium");
  const [status, setStatus] = useState<TestStatus>(existing?.status ?? "active");
  const [tags, setTags] = useState((existing?.tags ?? []).join(", "));
  const isReference = !!existing?.reference && existing.code === null;

  const save = useMutation({
    mutationFn: () => {
      const body = {
        title,
        description,
        priority,
        status,
        tags: tags.split(",").map((t) => t.trim()).filter(Boolean),
        ...(isReference ? {} : { code }),
      };
      return existing
        ? patch<TestCase>(`/tests/${existing.id}`, { ...body, version: existing.version })
        : post<TestCase>("/tests", { ...body, project_id: projectId });
    },
    onSuccess: (tc) => {
      client.setQueryData(["test", tc.id], tc);
      void client.invalidateQueries({ queryKey: ["tests"] });
      void client.invalidateQueries({ queryKey: ["projects"] });
      onClose();
    },
  });
  const run = useRunTest(existing);
  const problem = codeProblem(save.error);
  const stale = save.error instanceof ApiError && save.error.status === 409;

  const submit = (e: FormEvent) => {
    e.preventDefault();
    save.mutate();
  };

  return (
    <Modal title={readOnly ? "Test case" : existing ? "Edit test case" : "New test case"} onClose={onClose} wide>
      <form className="form" onSubmit={submit}>
        {problem ? (
          <div className="note note-bad" role="alert">
            {/line \d+/i.test(problem.message)
              ? problem.message
              : `Line ${problem.line}${problem.column ? `, column ${problem.column}` : ""}: ${problem.message}`}
          </div>
        ) : stale ? (
          <div className="note note-warn" role="alert">
            {(save.error as ApiError).message}
          </div>
        ) : (
          <ErrorNote error={save.error ?? run.error} />
        )}
        <div className="grid-2">
          <label>
            Title
            <input value={title} onChange={(e) => setTitle(e.target.value)} required maxLength={300} readOnly={readOnly} />
          </label>
          <label>
            Tags (comma separated)
            <input value={tags} onChange={(e) => setTags(e.target.value)} readOnly={readOnly} placeholder="smoke, api" />
          </label>
        </div>
        <div className="grid-2">
          <label>
            Priority
            <select value={priority} onChange={(e) => setPriority(e.target.value as Priority)} disabled={readOnly}>
              {PRIORITIES.map((p) => (
                <option key={p}>{p}</option>
              ))}
            </select>
          </label>
          <label>
            Status
            <select value={status} onChange={(e) => setStatus(e.target.value as TestStatus)} disabled={readOnly}>
              {TEST_STATUSES.map((s) => (
                <option key={s}>{s}</option>
              ))}
            </select>
          </label>
        </div>
        <label>
          Description
          <textarea value={description} onChange={(e) => setDescription(e.target.value)} rows={2} readOnly={readOnly} />
        </label>
        {isReference ? (
          <p>
            Runs the project's own test <code>{existing?.reference}</code>.
          </p>
        ) : (
          <div className="field">
            <span className="field-label">Code</span>
            <Suspense fallback={<div className="code-editor loading">Loading editor…</div>}>
              <CodeEditor value={code} onChange={setCode} problem={problem} readOnly={readOnly} label="Test code" />
            </Suspense>
          </div>
        )}
        {existing && (
          <p className="muted small">
            Origin {existing.origin}
            {existing.target && (
              <>
                {" "}· target <code>{existing.target}</code>
              </>
            )}{" "}
            · version {existing.version} ·{" "}
            <Link to={`/tests/${existing.id}`} onClick={onClose}>
              Its page and history of runs
            </Link>
          </p>
        )}
        <div className="actions">
          <button type="button" onClick={onClose}>
            {readOnly ? "Close" : "Cancel"}
          </button>
          {!readOnly && existing && (
            <button
              type="button"
              onClick={() => run.mutate()}
              disabled={run.isPending}
              title="Run the saved version of this test in a new plan"
            >
              {run.isPending ? "Starting…" : "Run test"}
            </button>
          )}
          {!readOnly && (
            <button type="submit" className="primary" disabled={save.isPending}>
              {save.isPending ? "Saving…" : existing ? "Save changes" : "Create test case"}
            </button>
          )}
        </div>
      </form>
    </Modal>
  );
}
