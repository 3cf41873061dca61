// A small fetch wrapper: bearer token, JSON, and errors a person can read.

import type { Page, PlanDetail, Run } from "./types";

export interface ValidationItem {
  loc?: (string | number)[];
  msg: string;
  type?: string;
  ctx?: { line?: number; column?: number; [k: string]: unknown };
}

export class ApiError extends Error {
  status: number;
  detail: unknown;
  constructor(status: number, detail: unknown, message: string) {
    super(message);
    this.status = status;
    this.detail = detail;
  }
  /** FastAPI-style 422 items, if that is what the server sent. */
  get items(): ValidationItem[] {
    return Array.isArray(this.detail) ? (this.detail as ValidationItem[]) : [];
  }
  /** True when the endpoint does not exist on this server (an older or partial install). */
  get missing(): boolean {
    return this.status === 404 && (this.detail === "Not Found" || this.detail === undefined);
  }
}

export function describeDetail(detail: unknown): string {
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) {
    return detail
      .map((d: ValidationItem) => {
        const field = (d.loc ?? []).filter((p) => p !== "body").join(".");
        return field ? `${field}: ${d.msg}` : d.msg;
      })
      .join("; ");
  }
  return detail ? JSON.stringify(detail) : "";
}

type Hooks = { token: () => string | null; onUnauthorized: () => void };
let hooks: Hooks = { token: () => null, onUnauthorized: () => {} };

export function configureClient(next: Hooks): void {
  hooks = next;
}

export type Query = Record<string, string | number | boolean | (string | number)[] | null | undefined>;

export function withQuery(path: string, query?: Query): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === "") continue;
    if (Array.isArray(value)) value.forEach((v) => params.append(key, String(v)));
    else params.append(key, String(value));
  }
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

export async function api<T>(
  method: string,
  path: string,
  body?: unknown,
  opts: { query?: Query; auth?: boolean } = {},
): Promise<T> {
  // X-Assay-Client: the server records the plans the dashboard creates as triggered by it.
  const headers: Record<string, string> = { Accept: "application/json", "X-Assay-Client": "dashboard" };
  const token = hooks.token();
  if (token && opts.auth !== false) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let res: Response;
  try {
    res = await fetch(withQuery(`/api/v1${path}`, opts.query), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, null, "The server cannot be reached. Check that Assay is running.");
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let data: unknown;
  try {
    data = text ? JSON.parse(text) : undefined;
  } catch {
    data = text;
  }
  if (!res.ok) {
    const detail = (data as { detail?: unknown } | undefined)?.detail ?? data;
    if (res.status === 401 && opts.auth !== false && token) hooks.onUnauthorized();
    const message = describeDetail(detail) || `${res.status} ${res.statusText}`;
    throw new ApiError(res.status, detail, message);
  }
  return data as T;
}

export const get = <T>(path: string, query?: Query) => api<T>("GET", path, undefined, { query });
export const post = <T>(path: string, body?: unknown) => api<T>("POST", path, body ?? {});
export const patch = <T>(path: string, body: unknown) => api<T>("PATCH", path, body);
export const del = (path: string) => api<void>("DELETE", path);

/** A message for an endpoint that may not exist yet on this server. */
export function unavailable(err: unknown, what: string): string | null {
  if (err instanceof ApiError && (err.missing || err.status === 405)) {
    return `${what}: not available on this server yet.`;
  }
  return null;
}

/** Runs per request when a plan's runs are read from `GET /execution/plans/{id}/runs`. */
export const RUNS_PAGE = 200;

/**
 * A plan's detail with its runs, all of them (or the first `maxRuns`).
 *
 * `GET /execution/plans/{id}` holds only the plan's first runs (100); `total` says how
 * many it has. The rest are read from `/runs` by offset, a few pages at a time, and
 * appended in plan order (the order is stable: a plan's runs are fixed at creation).
 * `runs_next_cursor` is the `/runs` cursor after the runs returned (null after the last).
 */
export async function getPlanDetail(
  id: string,
  opts: { maxRuns?: number; parallel?: number } = {},
): Promise<PlanDetail> {
  const path = `/execution/plans/${encodeURIComponent(id)}`;
  const plan = await get<PlanDetail>(path);
  const want = Math.min(plan.total, opts.maxRuns ?? Number.POSITIVE_INFINITY);
  if (plan.runs.length >= want) return plan;
  const offsets: number[] = [];
  for (let offset = plan.runs.length; offset < want; offset += RUNS_PAGE) offsets.push(offset);
  const pages: Page<Run>[] = new Array<Page<Run>>(offsets.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < offsets.length) {
      const i = next++;
      const limit = Math.min(RUNS_PAGE, want - offsets[i]);
      pages[i] = await get<Page<Run>>(`${path}/runs`, { offset: offsets[i], limit });
    }
  };
  await Promise.all(Array.from({ length: Math.min(opts.parallel ?? 4, offsets.length) }, worker));
  return {
    ...plan,
    runs: [...plan.runs, ...pages.flatMap((p) => p.items)],
    runs_next_cursor: pages[pages.length - 1].next_cursor,
  };
}
