import { useState, type FormEvent } from "react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { ApiError, api, patch } from "../api/client";
import type { Project } from "../api/types";
import { ConfirmDialog } from "../components/confirm";
import { ProjectFields, projectBody, projectFieldsValue } from "../components/ProjectFields";
import { ErrorNote, Modal } from "../components/ui";

/** Edit a project's name, description and source (its settings have their own dialog). */
export function ProjectEditDialog({ project, onClose }: { project: Project; onClose: () => void }) {
  const client = useQueryClient();
  const [fields, setFields] = useState(() => projectFieldsValue(project));
  const save = useMutation({
    mutationFn: () => patch<Project>(`/projects/${project.id}`, projectBody(fields)),
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: ["projects"] });
      onClose();
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    save.mutate();
  };
  return (
    <Modal title={`Edit ${project.name}`} onClose={onClose}>
      <form onSubmit={submit} className="form">
        <ErrorNote error={save.error} />
        <ProjectFields value={fields} onChange={setFields} radioName="edit-source" />
        <p className="hint">
          Plans already run keep the snapshot they ran on; the next plan snapshots the new source. Dependencies, Python and
          pytest arguments are under Settings.
        </p>
        <div className="actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={save.isPending}>
            Save project
          </button>
        </div>
      </form>
    </Modal>
  );
}

/**
 * Delete a project, after a confirmation. A project with test cases answers 409; the
 * dialog then says so and offers to delete them too (`force`).
 */
export function ProjectDeleteDialog({
  project,
  onClose,
}: {
  project: Project;
  onClose: () => void;
}) {
  const client = useQueryClient();
  const remove = useMutation({
    mutationFn: (force: boolean) =>
      api<void>("DELETE", `/projects/${project.id}`, undefined, { query: force ? { force: true } : undefined }),
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: ["projects"] });
      void client.invalidateQueries({ queryKey: ["tests"] });
      onClose();
    },
  });
  const hasTests = remove.error instanceof ApiError && remove.error.status === 409;
  const count = project.test_count + project.archived_count;
  if (hasTests) {
    return (
      <ConfirmDialog
        title={`Delete ${project.name} and its test cases?`}
        confirm="Delete anyway (force)"
        busy={remove.isPending}
        onCancel={onClose}
        onConfirm={() => remove.mutate(true)}
      >
        <div className="note note-warn" role="alert">
          {(remove.error as ApiError).message}
        </div>
        <p>
          Deleting anyway also deletes its test cases, its plans and their results. This cannot be undone.
        </p>
      </ConfirmDialog>
    );
  }
  return (
    <ConfirmDialog
      title={`Delete ${project.name}?`}
      confirm="Delete project"
      busy={remove.isPending}
      onCancel={onClose}
      onConfirm={() => remove.mutate(false)}
    >
      <ErrorNote error={remove.error} />
      <p>
        The project <strong>{project.name}</strong> is removed from Assay; its files on the server are not touched.
        {count > 0 && ` It has ${count} test case${count === 1 ? "" : "s"}: you will be asked again before they go too.`}
      </p>
    </ConfirmDialog>
  );
}
