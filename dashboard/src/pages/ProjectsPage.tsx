import { useEffect, useState, type FormEvent } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Link, useNavigate } from "react-router-dom";
import { ApiError, get, post, unavailable } from "../api/client";
import type { CollectionIssue, ImportRecord, Page, Project, Source } from "../api/types";
import { useSession } from "../auth/session";
import { useProject } from "../components/project";
import { ProjectFields, projectBody, projectFieldsValue } from "../components/ProjectFields";
import { Empty, ErrorNote, Modal } from "../components/ui";
import { ProjectSettingsDialog } from "./ProjectSettings";
import { ProjectDeleteDialog, ProjectEditDialog } from "./ProjectEdit";

function sourceText(s: Source): string {
  return s.type === "path" ? s.path : `${s.url}${s.ref ? `@${s.ref}` : ""}`;
}

function NewProject({ onClose }: { onClose: () => void }) {
  const client = useQueryClient();
  const { setProjectId } = useProject();
  const [fields, setFields] = useState(() => projectFieldsValue());
  const create = useMutation({
    mutationFn: () => post<Project>("/projects", projectBody(fields)),
    onSuccess: (p) => {
      void client.invalidateQueries({ queryKey: ["projects"] });
      setProjectId(p.id);
      onClose();
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate();
  };
  return (
    <Modal title="New project" onClose={onClose}>
      <form onSubmit={submit} className="form">
        <ErrorNote error={create.error} />
        <ProjectFields value={fields} onChange={setFields} radioName="source" />
        <div className="actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={create.isPending}>
            Create project
          </button>
        </div>
      </form>
    </Modal>
  );
}

/** Modules that failed to collect: the rest of the suite imported; these come in once fixed. */
function CollectionErrors({ errors }: { errors: CollectionIssue[] }) {
  if (!errors.length) return null;
  return (
    <details className="bad-text collection-errors" aria-label="Collection errors">
      <summary>
        {errors.length === 1 ? "1 file" : `${errors.length} files`} could not be collected
      </summary>
      <ul>
        {errors.map((e) => (
          <li key={e.path}>
            <code>{e.path}</code>
            <pre>{e.error}</pre>
          </li>
        ))}
      </ul>
    </details>
  );
}

function ImportButton({ project }: { project: Project }) {
  const client = useQueryClient();
  const start = useMutation({
    mutationFn: () => post<ImportRecord>(`/projects/${project.id}/import-tests`),
    onSuccess: (record) => client.setQueryData(["projects", project.id, "import"], record),
  });
  // The import runs in the background on the server; its record is followed until it ends.
  const record = useQuery({
    queryKey: ["projects", project.id, "import"],
    queryFn: () => get<ImportRecord>(`/projects/${project.id}/import-tests`),
    enabled: start.isSuccess,
    refetchInterval: (q) => (q.state.data?.status === "running" ? 1000 : false),
  });
  const data = record.data;
  const running = start.isPending || data?.status === "running";
  const ended = data && data.status !== "running" ? data.id : null;
  useEffect(() => {
    if (!ended) return;
    void client.invalidateQueries({ queryKey: ["projects", "list"] });
    void client.invalidateQueries({ queryKey: ["tests"] });
  }, [ended, client]);
  const summary = (d: ImportRecord) =>
    `Imported: ${d.collected ?? 0} collected, ${d.created ?? 0} created, ${d.archived ?? 0} archived, ${d.unchanged ?? 0} unchanged`;
  return (
    <span className="inline">
      <button type="button" onClick={() => start.mutate()} disabled={running} aria-label={`Import tests of ${project.name}`}>
        {running ? "Importing…" : "Import tests"}
      </button>
      {data?.status === "finished" && <span className="ok-text" role="status">{summary(data)}</span>}
      {data?.status === "failed" && <span className="bad-text" role="alert">{data.detail}</span>}
      <CollectionErrors errors={data?.errors ?? project.last_import?.errors ?? []} />
      {start.error && (
        <span className="bad-text" role="alert">
          {unavailable(start.error, "Importing tests") ?? (start.error as ApiError).message}
        </span>
      )}
    </span>
  );
}

export function ProjectsPage() {
  const { can } = useSession();
  const { setProjectId, projectId } = useProject();
  const [creating, setCreating] = useState(false);
  const [editing, setEditing] = useState<Project | null>(null);
  const [changing, setChanging] = useState<Project | null>(null);
  const [deleting, setDeleting] = useState<Project | null>(null);
  const navigate = useNavigate();
  const q = useQuery({ queryKey: ["projects", "list"], queryFn: () => get<Page<Project>>("/projects", { limit: 200 }) });
  return (
    <section>
      <div className="page-head">
        <h1>Projects</h1>
        {can("editor") && (
          <button type="button" className="primary" onClick={() => setCreating(true)}>
            New project
          </button>
        )}
      </div>
      <ErrorNote error={q.error} />
      {q.data && q.data.items.length === 0 ? (
        <Empty title="No projects yet">Create a project from a directory on the server or a git repository.</Empty>
      ) : (
        <table className="table projects-table" aria-label="Projects">
          <thead>
            <tr>
              <th>Name</th>
              <th>Source</th>
              <th className="num">Test cases</th>
              <th>Created</th>
              <th aria-label="Actions" />
            </tr>
          </thead>
          <tbody>
            {q.data?.items.map((p) => (
              <tr key={p.id} className={p.id === projectId ? "selected" : undefined}>
                <td>
                  <strong>{p.name}</strong>
                  {p.description && <div className="muted small">{p.description}</div>}
                </td>
                <td>
                  <span className="tag">{p.source.type}</span> <code>{sourceText(p.source)}</code>
                </td>
                <td className="num">
                  <Link to="/tests" onClick={() => setProjectId(p.id)} title="Test cases, archived ones not counted">
                    {p.test_count}
                  </Link>
                  {p.archived_count > 0 && <div className="muted small">+{p.archived_count} archived</div>}
                </td>
                <td>{new Date(p.created_at).toLocaleDateString()}</td>
                <td className="row-actions">
                  <button
                    type="button"
                    className="ghost"
                    onClick={() => {
                      setProjectId(p.id);
                      void navigate("/tests");
                    }}
                    aria-label={`Open ${p.name}`}
                    title="Its test cases"
                  >
                    Open
                  </button>
                  {can("editor") && <ImportButton project={p} />}
                  {can("editor") && (
                    <button type="button" className="ghost" onClick={() => setEditing(p)} aria-label={`Settings of ${p.name}`}>
                      Settings
                    </button>
                  )}
                  {can("editor") && (
                    <button type="button" className="ghost" onClick={() => setChanging(p)} aria-label={`Edit ${p.name}`}>
                      Edit
                    </button>
                  )}
                  {can("editor") && (
                    <button type="button" className="ghost danger" onClick={() => setDeleting(p)} aria-label={`Delete ${p.name}`}>
                      Delete
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {creating && <NewProject onClose={() => setCreating(false)} />}
      {editing && <ProjectSettingsDialog project={editing} onClose={() => setEditing(null)} />}
      {changing && <ProjectEditDialog project={changing} onClose={() => setChanging(null)} />}
      {deleting && <ProjectDeleteDialog project={deleting} onClose={() => setDeleting(null)} />}
    </section>
  );
}
