import type { ReactNode } from "react";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { MemoryRouter } from "react-router-dom";
import { vi } from "vitest";
import { SessionProvider } from "../auth/session";
import { ProjectProvider } from "../components/project";

type Handler = (url: URL, init: RequestInit) => unknown;

/** Replace fetch with a router of `"METHOD /path"` → handler (a Response, or JSON). */
export function mockFetch(routes: Record<string, Handler>) {
  const calls: { method: string; path: string; body: unknown }[] = [];
  const fn = vi.fn(async (input: string, init: RequestInit = {}) => {
    const url = new URL(input, "http://localhost");
    const method = init.method ?? "GET";
    const key = `${method} ${url.pathname.replace(/^\/api\/v1/, "")}`;
    calls.push({ method, path: url.pathname + url.search, body: init.body ? JSON.parse(String(init.body)) : undefined });
    const handler = routes[key];
    if (!handler) return new Response(JSON.stringify({ detail: "Not Found" }), { status: 404 });
    const out = handler(url, init);
    if (out instanceof Response) return out;
    return new Response(JSON.stringify(out), { status: 200, headers: { "Content-Type": "application/json" } });
  });
  vi.stubGlobal("fetch", fn);
  return calls;
}

export function signedIn() {
  localStorage.setItem("assay.session", JSON.stringify({ token: "t0k", expiresAt: Date.now() + 3600_000 }));
}

export function renderTree(ui: ReactNode, path = "/") {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return (
    <QueryClientProvider client={client}>
      <SessionProvider>
        <ProjectProvider>
          <MemoryRouter initialEntries={[path]}>{ui}</MemoryRouter>
        </ProjectProvider>
      </SessionProvider>
    </QueryClientProvider>
  );
}

export const user = (role: string) => ({ id: "u1", username: role, role, disabled: false, created_at: "2026-01-01T00:00:00Z" });
export const project = { id: "p1", name: "calc", description: "", source: { type: "path", path: "/x" }, created_at: "", updated_at: "", test_count: 2 };
export const testCase = (id: string, title: string) => ({
  id, project_id: "p1", title, description: "", code: "def test_x():\n    assert True\n", reference: null,
  priority: "medium", tags: ["smoke"], status: "active", origin: "manual", target: null, generation_id: null,
  created_by: null, created_at: "2026-01-01T00:00:00Z", updated_at: "2026-01-01T00:00:00Z", version: 1,
});
