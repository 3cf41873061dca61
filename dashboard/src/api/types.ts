// Shapes of the Assay API (src/assay/api/schemas). Keep in step with the server.

export type Role = "admin" | "editor" | "viewer";
export type Priority = "critical" | "high" | "medium" | "low";
export type TestStatus = "draft" | "active" | "quarantined" | "archived";
export type Origin = "manual" | "ai" | "imported";
export type PlanStatus = "queued" | "running" | "passed" | "failed" | "error" | "cancelled";
export type RunStatus = PlanStatus | "skipped";

export const PRIORITIES: Priority[] = ["critical", "high", "medium", "low"];
export const TEST_STATUSES: TestStatus[] = ["draft", "active", "quarantined", "archived"];
export const ORIGINS: Origin[] = ["manual", "ai", "imported"];
export const FINAL_RUN: RunStatus[] = ["passed", "failed", "error", "skipped", "cancelled"];

export interface Page<T> {
  items: T[];
  total: number;
  limit: number;
  offset: number;
  next_cursor: string | null;
}

export interface User {
  id: string;
  username: string;
  role: Role;
  disabled: boolean;
  created_at: string;
}

export interface TokenResponse {
  access_token: string;
  token_type: string;
  expires_in: number;
}

export interface ApiToken {
  id: string;
  name: string;
  prefix: string;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
  revoked_at: string | null;
  token?: string;
}

export type Source = { type: "path"; path: string } | { type: "git"; url: string; ref?: string | null };

export interface Project {
  id: string;
  name: string;
  description: string;
  source: Source;
  created_at: string;
  updated_at: string;
  test_count: number;
  settings?: Record<string, unknown>;
  last_import?: ImportSummary | null;
}

/** A file of the suite that pytest could not collect at the last import, and why. */
export interface CollectionIssue {
  path: string;
  error: string;
}

/** A suite import: it runs in the background; `detail` says why one failed. */
export interface ImportRecord {
  id: string;
  status: "running" | "finished" | "failed";
  started_at: string;
  finished_at?: string;
  collected?: number;
  created?: number;
  restored?: number;
  archived?: number;
  unchanged?: number;
  errors?: CollectionIssue[];
  notes?: string[];
  detail?: string;
}

export interface ImportSummary {
  at: string;
  collected: number;
  errors: CollectionIssue[];
}

export interface TestCase {
  id: string;
  project_id: string;
  title: string;
  description: string;
  code: string | null;
  reference: string | null;
  priority: Priority;
  tags: string[];
  status: TestStatus;
  origin: Origin;
  target: string | null;
  generation_id: string | null;
  created_by: string | null;
  created_at: string;
  updated_at: string;
  version: number;
}

export interface Run {
  id: string;
  test_case_id: string | null;
  name: string;
  status: RunStatus;
  attempt: number;
  duration_s: number | null;
  output: string | null;
  failure: string | null;
  isolation: string | null;
  started_at: string | null;
  finished_at: string | null;
}

export interface Plan {
  id: string;
  project_id: string;
  name: string;
  priority: Priority;
  status: PlanStatus;
  trigger: string;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  attempts: number;
  error: string | null;
  source_plan_id: string | null;
  counts: Partial<Record<RunStatus, number>>;
  total: number;
}

export interface PlanDetail extends Plan {
  runs: Run[];
}

export interface Metrics {
  orchestrator_status: "healthy" | "degraded" | "stopped";
  queued_tests: number;
  running_tests: number;
  completed_tests: number;
  passed: number;
  failed: number;
  errored: number;
  queued_plans: number;
  running_plans: number;
  workers_busy: number;
  workers_total: number;
  dispatch_latency_ms: { p50: number | null; p99: number | null };
  uptime_s: number;
  last_heartbeat: string | null;
  restarts?: number;
}

export interface PollResult {
  detected_plans: string[];
  recovered?: unknown[];
  queue: { queued_plans: number; running_plans: number; queued_tests: number; running_tests: number };
}

export type Verdict = "accepted" | "failed" | "flaky" | "no_new_coverage" | "error";

export interface Candidate {
  id?: string;
  target: string;
  name: string;
  code: string;
  verdict: Verdict;
  runs_passed: number;
  runs_total: number;
  target_lines_covered: number[];
  new_lines_covered?: number[];
  failure: string | null;
  test_case_id: string | null;
}

export interface Generation {
  id: string;
  project_id: string;
  mode: "diff" | "function";
  engine: string;
  status: string;
  targets: unknown[];
  notes?: unknown[];
  coverage?: Record<string, unknown>;
  error: string | null;
  plan_id: string | null;
  created_at?: string;
  finished_at?: string | null;
  candidates: Candidate[];
}

export interface SymbolInfo {
  name?: string;
  target?: string;
  qualname?: string;
  kind?: string;
  line?: number;
}

export interface Insights {
  pass_rate: { day: string; passed: number; failed: number; errored: number }[];
  duration: { day: string; total_s: number }[];
  slowest: { test_case_id: string; title: string; avg_s: number }[];
  most_failing: { test_case_id: string; title: string; failures: number; runs: number }[];
  flaky: { test_case_id: string; title: string; flips: number }[];
}
