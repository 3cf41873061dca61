import { createContext, useContext, useState, type ReactNode } from "react";
import { useQuery } from "@tanstack/react-query";
import { get } from "../api/client";
import type { Page, Project } from "../api/types";

const KEY = "assay.project";

interface ProjectCtx {
  projects: Project[];
  loading: boolean;
  projectId: string | null;
  project: Project | null;
  setProjectId: (id: string) => void;
}

const Ctx = createContext<ProjectCtx>({
  projects: [],
  loading: false,
  projectId: null,
  project: null,
  setProjectId: () => {},
});

export const useProject = () => useContext(Ctx);

/** The project the pages show, chosen in the top bar and remembered. */
export function ProjectProvider({ children }: { children: ReactNode }) {
  const q = useQuery({
    queryKey: ["projects", "all"],
    queryFn: () => get<Page<Project>>("/projects", { limit: 200 }),
  });
  const [projectId, setId] = useState<string | null>(() => localStorage.getItem(KEY));
  const projects = q.data?.items ?? [];
  // The remembered project, else the first one (until one is chosen).
  const known = projects.find((p) => p.id === projectId) ?? projects[0] ?? null;

  const setProjectId = (id: string) => {
    localStorage.setItem(KEY, id);
    setId(id);
  };
  return (
    <Ctx.Provider value={{ projects, loading: q.isPending, projectId: known?.id ?? null, project: known, setProjectId }}>
      {children}
    </Ctx.Provider>
  );
}

export function ProjectPicker() {
  const { projects, projectId, setProjectId } = useProject();
  if (!projects.length) return null;
  return (
    <label className="picker">
      <span>Project</span>
      <select aria-label="Project" value={projectId ?? ""} onChange={(e) => setProjectId(e.target.value)}>
        {projects.map((p) => (
          <option key={p.id} value={p.id}>
            {p.name}
          </option>
        ))}
      </select>
    </label>
  );
}
