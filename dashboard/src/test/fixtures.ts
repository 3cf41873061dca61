// What the tests' fake server answers, typed by the server's own OpenAPI schema
// (src/api/schema.d.ts): a fixture that drifts from the API is a type error
// (`npm run build` type-checks the tests), not a test that passes against a shape the
// server never sends.

import type {
  Candidate,
  EventCandidate,
  EventPayload,
  Generation,
  Page,
  PlanDetail,
  Project,
  Role,
  Run,
  TestCase,
  User,
  Verdict,
} from "../api/types";
import type { LiveEvent } from "../live/eventLog";

const AT = "2026-01-01T00:00:00Z";

export const page = <T>(items: T[], total = items.length, next: string | null = null): Page<T> => ({
  items,
  total,
  limit: 50,
  offset: 0,
  next_cursor: next,
});

export const user = (role: Role): User => ({ id: "u1", username: role, role, disabled: false, created_at: AT });

export const project: Project = {
  id: "p1",
  name: "calc",
  description: "",
  source: { type: "path", path: "/x" },
  created_at: AT,
  updated_at: AT,
  test_count: 2,
  archived_count: 0,
  settings: {},
  last_import: null,
};

export const testCase = (id: string, title: string, fields: Partial<TestCase> = {}): TestCase => ({
  id,
  project_id: "p1",
  title,
  description: "",
  code: "def test_x():\n    assert True\n",
  reference: null,
  priority: "medium",
  tags: ["smoke"],
  status: "active",
  origin: "manual",
  target: null,
  generation_id: null,
  created_by: null,
  created_at: AT,
  updated_at: AT,
  version: 1,
  ...fields,
});

export const run = (id: string, fields: Partial<Run> = {}): Run => ({
  id,
  test_case_id: id,
  name: id,
  status: "queued",
  attempt: 0,
  duration_s: null,
  output: null,
  failure: null,
  isolation: null,
  details: null,
  started_at: null,
  finished_at: null,
  ...fields,
});

export const planDetail = (runs: Run[], fields: Partial<PlanDetail> = {}): PlanDetail => ({
  id: "p1",
  project_id: "x",
  name: "smoke",
  priority: "medium",
  status: "queued",
  trigger: "api",
  snapshot_hash: null,
  created_by: null,
  created_at: AT,
  started_at: null,
  finished_at: null,
  attempts: 0,
  error: null,
  source_plan_id: null,
  counts: { queued: runs.length },
  total: runs.length,
  runs,
  ...fields,
});

/** A candidate as `GET /generations/{id}` answers it. */
export const candidate = (name: string, verdict: Verdict, fields: Partial<Candidate> = {}): Candidate => ({
  id: `c-${name}`,
  target: "calc:add",
  name,
  code: `def ${name}():\n    assert True\n`,
  verdict,
  runs_passed: verdict === "accepted" ? 3 : 0,
  runs_total: 3,
  target_lines_covered: [2],
  new_lines_covered: verdict === "accepted" ? [2] : [],
  failure: verdict === "failed" ? "assert 1 == 2" : null,
  test_case_id: verdict === "accepted" ? `t-${name}` : null,
  ...fields,
});

export const generation = (fields: Partial<Generation> = {}): Generation => ({
  id: "g1",
  project_id: "p1",
  mode: "function",
  engine: "builtin",
  status: "running",
  request: { mode: "function", target: "calc:add" },
  targets: [],
  notes: [],
  coverage: {},
  error: null,
  plan_id: null,
  created_by: "u1",
  created_at: AT,
  finished_at: null,
  accepted: 0,
  candidates: [],
  ...fields,
});

/** A candidate as a `generation.candidate` event carries it (nested under `candidate`). */
export const eventCandidate = (c: Candidate): EventCandidate => ({
  target: c.target,
  name: c.name,
  code: c.code,
  verdict: c.verdict as Verdict,
  runs_passed: c.runs_passed,
  runs_total: c.runs_total,
  target_lines_covered: c.target_lines_covered,
  new_lines_covered: c.new_lines_covered,
  failure: c.failure,
  engine: "builtin",
  kind: "example",
});

let seq = 0;

/** An event as the WebSocket delivers it: its payload, in its envelope. */
export function liveEvent(payload: EventPayload, projectId = "p1"): LiveEvent {
  seq += 1;
  return { seq, type: payload.type, plan_id: null, project_id: projectId, payload, created_at: AT };
}
