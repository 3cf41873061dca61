import type { ReactNode } from "react";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { MemoryRouter, useLocation, useNavigationType } from "react-router-dom";
import { vi } from "vitest";
import { SessionProvider } from "../auth/session";
import type { paths } from "../api/schema";
import { ProjectProvider } from "../components/project";

type Method = "get" | "post" | "put" | "patch" | "delete";
type Stripped<P> = P extends `/api/v1${infer Rest}` ? Rest : never;
type Operation<P extends keyof paths, M extends Method> = NonNullable<paths[P][M]>;
type Json<R> = R extends { content: { "application/json": infer T } } ? T : never;
/** The JSON body of an operation's success answers, as the OpenAPI schema declares it. */
type Answer<Op> = Op extends { responses: infer Rs } ? Json<Rs[Extract<keyof Rs, 200 | 201 | 202>]> : never;

/** Every API operation of the schema, as `"METHOD /path"` (`/api/v1` left out). */
type Routes = {
  [P in keyof paths as Stripped<P> extends never ? never : P]: {
    [M in Method as [Operation<P, M>] extends [never] ? never : `${Uppercase<M>} ${Stripped<P>}`]: (
      url: URL,
      init: RequestInit,
    ) => Answer<Operation<P, M>> | Response;
  };
};
type UnionToIntersection<U> = (U extends unknown ? (u: U) => void : never) extends (i: infer I) => void ? I : never;
export type RouteTable = Partial<UnionToIntersection<Routes[keyof Routes]>>;

/** `/projects/{project_id}/symbols` → a pattern matching `/projects/p1/symbols`. */
const pattern = (template: string) =>
  new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\{[^}]+\}/g, "[^/]+")}$`);

/**
 * Replace fetch with a router of `"METHOD /path"` → handler. The keys are the schema's
 * own operations (with `{param}` templates) and each handler must answer what that
 * operation declares (or a Response), so a fixture cannot drift from the API unseen.
 */
export function mockFetch(routes: RouteTable) {
  const calls: { method: string; path: string; body: unknown }[] = [];
  const table = Object.entries(routes as Record<string, (url: URL, init: RequestInit) => unknown>).map(
    ([key, handler]) => {
      const [method, template] = key.split(" ");
      return { method, template, match: pattern(template), handler };
    },
  );
  const answer = (input: string, init: RequestInit): Response => {
    const url = new URL(input, "http://localhost");
    const method = init.method ?? "GET";
    const path = url.pathname.replace(/^\/api\/v1/, "");
    const body: unknown = typeof init.body === "string" ? JSON.parse(init.body) : undefined;
    calls.push({ method, path: url.pathname + url.search, body });
    const candidates = table.filter((r) => r.method === method && r.match.test(path));
    // A literal path wins over a template (`/tests/bulk` over `/tests/{test_id}`).
    const route = candidates.find((r) => r.template === path) ?? candidates[0];
    if (!route) return new Response(JSON.stringify({ detail: "Not Found" }), { status: 404 });
    const out = route.handler(url, init);
    if (out instanceof Response) return out;
    return new Response(JSON.stringify(out), { status: 200, headers: { "Content-Type": "application/json" } });
  };
  const fn = vi.fn((input: string, init: RequestInit = {}) => Promise.resolve(answer(input, init)));
  vi.stubGlobal("fetch", fn);
  return calls;
}

export function signedIn() {
  localStorage.setItem("assay.session", JSON.stringify({ token: "t0k", expiresAt: Date.now() + 3600_000 }));
}

/** A test's own QueryClient, to pass to `renderTree` when the test reaches into the cache. */
export const testClient = () => new QueryClient({ defaultOptions: { queries: { retry: false } } });

export function renderTree(ui: ReactNode, path = "/", client = testClient()) {
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

/** Where the router is (`location.search`), and how it got there (`data-how`: PUSH or REPLACE). */
export function Where() {
  const location = useLocation();
  const how = useNavigationType();
  return (
    <output data-testid="where" data-how={how}>
      {location.search}
    </output>
  );
}

/** The URL's query as `Where` shows it. */
export const shownSearch = (el: HTMLElement) => new URLSearchParams(el.textContent ?? "");

export { page, project, testCase, user } from "./fixtures";
