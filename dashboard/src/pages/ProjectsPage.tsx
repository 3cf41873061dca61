import { useEffect, useState, type FormEvent } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Link } from "react-router-dom";
import { ApiError, get, post, unavailable } from "../api/client";
import type { CollectionIssue, ImportRecord, Page, Project, Source } from "../api/types";
import { useSession } from "../auth/session";
import { useProject } from "../components/project";
import { Empty, ErrorNote, Modal } from "../components/ui";
import { ProjectSettingsDialog } from "./ProjectSettings";

function sourceText(s: Source): string {
  return s.type === "path" ? s.path : `${s.url}${s.ref ? `@${s.ref}` : ""}`;
}

function NewProject({ onClose }: { onClose: () => void }) {
  const client = useQueryClient();
  const { setProjectId } = useProject();
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const [kind, setKind] = useState<"path" | "git">("path");
  const [path, setPath] = useState("");
  const [url, setUrl] = useState("");
  const [ref, setRef] = useState("");
  const create = useMutation({
    mutationFn: () =>
      post<Project>("/projects", {
        name,
        description,
        source: kind === "path" ? { type: "path", path } : { type: "git", url, ref: ref || null },
      }),
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
        <label>
          Name
          <input value={name} onChange={(e) => setName(e.target.value)} required maxLength={100} />
        </label>
        <label>
          Description
          <textarea value={description} onChange={(e) => setDescription(e.target.value)} rows={2} />
        </label>
        <fieldset className="segmented">
          <legend>Source</legend>
          <label>
            <input type="radio" name="source" checked={kind === "path"} onChange={() => setKind("path")} /> Local path
          </label>
          <label>
            <input type="radio" name="source" checked={kind === "git"} onChange={() => setKind("git")} /> Git repository
          </label>
        </fieldset>
        {kind === "path" ? (
          <label>
            Path on the server
            <input value={path} onChange={(e) => setPath(e.target.value)} required placeholder="/srv/code/myproject" />
          </label>
        ) : (
          <>
            <label>
              Git URL
              <input value={url} onChange={(e) => setUrl(e.target.value)} required placeholder="https://github.com/org/repo.git" />
            </label>
            <label>
              Ref (branch, tag or commit)
              <input value={ref} onChange={(e) => setRef(e.target.value)} placeholder="main" />
            </label>
          </>
        )}
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
        <table className="table">
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
                  <Link to="/tests" onClick={() => setProjectId(p.id)}>
                    {p.test_count}
                  </Link>
                </td>
                <td>{new Date(p.created_at).toLocaleDateString()}</td>
                <td className="row-actions">
                  <button type="button" className="ghost" onClick={() => setProjectId(p.id)} aria-label={`Open ${p.name}`}>
                    Open
                  </button>
                  {can("editor") && <ImportButton project={p} />}
                  {can("editor") && (
                    <button type="button" className="ghost" onClick={() => setEditing(p)} aria-label={`Settings of ${p.name}`}>
                      Settings
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
    </section>
  );
}
