import type { Project, SourceInput } from "../api/types";

/** What the project form holds: both sources' fields, so switching the radio keeps what was typed. */
export interface ProjectFieldsValue {
  name: string;
  description: string;
  kind: SourceInput["type"];
  path: string;
  url: string;
  ref: string;
}

/** The form's starting value: empty for a new project, else the project's own. */
export function projectFieldsValue(project?: Project): ProjectFieldsValue {
  const src = project?.source;
  return {
    name: project?.name ?? "",
    description: project?.description ?? "",
    kind: src?.type ?? "path",
    path: src?.type === "path" ? src.path : "",
    url: src?.type === "git" ? src.url : "",
    ref: src?.type === "git" ? (src.ref ?? "") : "",
  };
}

/** The body to create (`POST /projects`) or update (`PATCH /projects/{id}`) a project with. */
export function projectBody(v: ProjectFieldsValue): { name: string; description: string; source: SourceInput } {
  return {
    name: v.name,
    description: v.description,
    source: v.kind === "path" ? { type: "path", path: v.path } : { type: "git", url: v.url, ref: v.ref || null },
  };
}

/**
 * A project's name, description and source, as fields of an enclosing `<form>`.
 * `radioName` names the source radio group: give each form its own, since the new
 * and edit dialogs can both be in the page.
 */
export function ProjectFields({
  value,
  onChange,
  radioName,
}: {
  value: ProjectFieldsValue;
  onChange: (value: ProjectFieldsValue) => void;
  radioName: string;
}) {
  const set = <K extends keyof ProjectFieldsValue>(key: K, v: ProjectFieldsValue[K]) => onChange({ ...value, [key]: v });
  return (
    <>
      <label>
        Name
        <input value={value.name} onChange={(e) => set("name", e.target.value)} required maxLength={100} />
      </label>
      <label>
        Description
        <textarea
          value={value.description}
          onChange={(e) => set("description", e.target.value)}
          rows={2}
          maxLength={10000}
        />
      </label>
      <fieldset className="segmented">
        <legend>Source</legend>
        <label>
          <input type="radio" name={radioName} checked={value.kind === "path"} onChange={() => set("kind", "path")} /> Local path
        </label>
        <label>
          <input type="radio" name={radioName} checked={value.kind === "git"} onChange={() => set("kind", "git")} /> Git repository
        </label>
      </fieldset>
      {value.kind === "path" ? (
        <label>
          Path on the server
          <input
            value={value.path}
            onChange={(e) => set("path", e.target.value)}
            required
            placeholder="/srv/code/myproject"
          />
        </label>
      ) : (
        <>
          <label>
            Git URL
            <input
              value={value.url}
              onChange={(e) => set("url", e.target.value)}
              required
              placeholder="https://github.com/org/repo.git"
            />
          </label>
          <label>
            Ref (branch, tag or commit)
            <input value={value.ref} onChange={(e) => set("ref", e.target.value)} placeholder="main" />
          </label>
        </>
      )}
    </>
  );
}
