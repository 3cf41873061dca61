import { useState, type FormEvent } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { ApiError, get, patch } from "../api/client";
import type { Project, ProjectEnvironment, ProjectSettingsValue } from "../api/types";
import { ErrorNote, Modal } from "../components/ui";

const list = (text: string): string[] | null => {
  const items = text.split(",").map((s) => s.trim()).filter(Boolean);
  return items.length ? items : null;
};

/** Edit a project's settings (empty fields mean "detect") and see what Assay detected. */
export function ProjectSettingsDialog({ project, onClose }: { project: Project; onClose: () => void }) {
  const client = useQueryClient();
  // The stored settings (`[tool.assay]` in the project's pyproject overrides them); the
  // server answers them as a bare object, so they are read as what it accepts.
  const s = (project.settings ?? {}) as ProjectSettingsValue;
  const [groups, setGroups] = useState((s.groups ?? []).join(", "));
  const [extras, setExtras] = useState((s.extras ?? []).join(", "));
  const [files, setFiles] = useState((s.requirement_files ?? []).join(", "));
  const [extraReqs, setExtraReqs] = useState((s.extra_requirements ?? []).join(", "));
  const [env, setEnv] = useState(Object.entries(s.env ?? {}).map(([k, v]) => `${k}=${v}`).join("\n"));
  const [args, setArgs] = useState((s.pytest_args ?? []).join(" "));
  const [python, setPython] = useState(s.python ?? "");
  const [install, setInstall] = useState(s.install_project == null ? "auto" : s.install_project ? "yes" : "no");
  const environment = useQuery({
    queryKey: ["projects", project.id, "environment"],
    queryFn: () => get<ProjectEnvironment>(`/projects/${project.id}/environment`),
  });
  const save = useMutation({
    mutationFn: (settings: ProjectSettingsValue) => patch<Project>(`/projects/${project.id}`, { settings }),
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: ["projects"] });
      onClose();
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const settings: ProjectSettingsValue = {};
    if (list(groups)) settings.groups = list(groups);
    if (list(extras)) settings.extras = list(extras);
    if (list(files)) settings.requirement_files = list(files);
    if (list(extraReqs)) settings.extra_requirements = list(extraReqs) ?? [];
    const pairs = env.split("\n").map((l) => l.trim()).filter(Boolean);
    if (pairs.length) settings.env = Object.fromEntries(pairs.map((l) => [l.split("=")[0], l.split("=").slice(1).join("=")]));
    if (args.trim()) settings.pytest_args = args.trim().split(/\s+/);
    if (python.trim()) settings.python = python.trim();
    if (install !== "auto") settings.install_project = install === "yes";
    save.mutate(settings);
  };
  const view = environment.data;
  return (
    <Modal title={`Settings of ${project.name}`} onClose={onClose} wide>
      <form onSubmit={submit} className="form">
        <p className="muted small">Empty fields mean “detect from the project”. A [tool.assay] table in its pyproject.toml overrides these.</p>
        <label>Dependency groups (comma separated)<input value={groups} onChange={(e) => setGroups(e.target.value)} /></label>
        <label>Extras<input value={extras} onChange={(e) => setExtras(e.target.value)} /></label>
        <label>Requirement files<input value={files} onChange={(e) => setFiles(e.target.value)} /></label>
        <label>Extra requirements<input value={extraReqs} onChange={(e) => setExtraReqs(e.target.value)} /></label>
        <label>Environment variables (KEY=value per line)<textarea rows={3} value={env} onChange={(e) => setEnv(e.target.value)} /></label>
        <label>Extra pytest arguments<input value={args} onChange={(e) => setArgs(e.target.value)} /></label>
        <label>Python version<input value={python} placeholder={view?.python_version} onChange={(e) => setPython(e.target.value)} /></label>
        <label>
          Install the project
          <select value={install} onChange={(e) => setInstall(e.target.value)}>
            <option value="auto">when it declares a build</option>
            <option value="yes">yes</option>
            <option value="no">no</option>
          </select>
        </label>
        {save.error && <p className="bad-text" role="alert">{(save.error as ApiError).message}</p>}
        <div className="actions">
          <button type="button" onClick={onClose}>Cancel</button>
          <button type="submit" className="primary" disabled={save.isPending}>Save settings</button>
        </div>
      </form>
      <section aria-label="Detected environment">
        <h3>Detected</h3>
        <ErrorNote error={environment.error} />
        {view && (
          <>
            <p>
              Python {view.python_version} ({view.python_reason}); project installed: {view.install_project ? "yes" : "no"};{" "}
              environment: {view.environment.copies.map((c) => c.state).join(", ") || "not built yet"},{" "}
              {view.environment.packages.length} packages
            </p>
            <table className="table">
              <thead><tr><th>Declaration</th><th>Used</th><th>Requirements</th></tr></thead>
              <tbody>
                {view.declarations.map((d) => (
                  <tr key={d.source}>
                    <td>{d.source}</td>
                    <td>{d.used ? "yes" : "no"}</td>
                    <td>{d.requirements.join(", ") || "—"}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </>
        )}
      </section>
    </Modal>
  );
}
