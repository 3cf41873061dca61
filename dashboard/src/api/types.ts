// Shapes of the Assay API, from the server's own OpenAPI schema.
//
// `schema.d.ts` is generated (`make dashboard-types`; `make test` fails when it is
// stale): the names below alias its component schemas, so a field the server renames,
// drops or retypes is a type error here, not a blank cell at run time. Keep the
// dashboard's names (the pages use them); add no hand-written shape of a server answer.

import type { components } from "./schema";

type Schemas = components["schemas"];

/**
 * `T` with `K` required: fields the server always sends (pydantic serializes every
 * field, defaults included) though its schema marks them optional, because their
 * default is a `default_factory`, which the JSON schema does not show.
 */
type Sent<T, K extends keyof T> = Omit<T, K> & Required<Pick<T, K>>;

export type Role = Schemas["Role"];
export type Priority = Schemas["Priority"];
export type TestStatus = Schemas["TestStatus"];
export type Origin = Schemas["Origin"];
export type PlanStatus = Schemas["PlanStatus"];
export type RunStatus = Schemas["RunStatus"];
export type Trigger = Schemas["Trigger"];

export const PRIORITIES: Priority[] = ["critical", "high", "medium", "low"];
export const TEST_STATUSES: TestStatus[] = ["draft", "active", "quarantined", "archived"];
export const ORIGINS: Origin[] = ["manual", "ai", "imported"];
export const FINAL_RUN: RunStatus[] = ["passed", "failed", "error", "skipped", "cancelled"];

/** A page of a list endpoint (the server's generic `Page[T]`). */
export type Page<T> = Omit<Sent<Schemas["Page_TestCaseOut_"], "next_cursor">, "items"> & { items: T[] };

export type User = Schemas["UserOut"];
export type TokenResponse = Schemas["TokenResponse"];
export type ApiToken = Schemas["ApiTokenOut"];
/** A new token: the only answer that carries the token itself. */
export type ApiTokenCreated = Schemas["ApiTokenCreated"];

export type Source = Schemas["ProjectOut"]["source"];
export type SourceInput = Schemas["ProjectCreate"]["source"];
export type ProjectSettingsValue = Schemas["ProjectSettingsIn"];

/** A file of the suite that pytest could not collect at the last import, and why. */
export type CollectionIssue = Schemas["CollectError"];
/** A suite import (`/projects/{id}/import-tests`): it runs in the background; `detail` says why one failed. */
export type ImportRecord = Schemas["ImportOut"];

/**
 * A project. The server declares its `last_import` as a bare object; it is the
 * project's latest import record, read here as `ImportOut` (what `GET
 * /projects/{id}/import-tests` answers from the same record).
 */
export type Project = Omit<Schemas["ProjectOut"], "last_import"> & { last_import?: ImportRecord | null };
export type ProjectEnvironment = Schemas["ProjectEnvironmentOut"];

export type TestCase = Schemas["TestCaseOut"];
/** A test case's latest finished run (on `TestCase.last_run`). */
export type LastRun = Schemas["LastRun"];
/** One run in a test case's history (`GET /tests/{id}/runs`). */
export type TestRunHistory = Schemas["TestRunHistoryOut"];
/** An admin's password reset: `password` is the generated one, shown once. */
export type PasswordResetDone = Schemas["PasswordResetDone"];
export type BulkResult = Schemas["BulkResult"];

export type Run = Schemas["RunOut"];
export type Plan = Sent<Schemas["PlanOut"], "counts">;
export type PlanDetail = Sent<Schemas["PlanDetail"], "counts" | "runs">;
/** A plan's time left, from its tests' past durations (`GET /execution/plans/{id}/estimate`). */
export type PlanEstimate = Schemas["PlanEstimateOut"];
export const TRIGGERS: Trigger[] = ["dashboard", "api", "cli", "generation", "rerun", "start", "import"];
export const PLAN_STATUSES: PlanStatus[] = ["queued", "running", "passed", "failed", "error", "cancelled"];

export type Metrics = Schemas["MetricsOut"];
export type Health = Schemas["HealthOut"];
export type PollResult = Schemas["PollResponse"];
export type RestartResult = Schemas["RestartResponse"];

export type Insights = Schemas["InsightsOut"];

/** What validating a generated test concluded (the server's `Verdict`). */
export type Verdict = Schemas["GenerationCandidate"]["verdict"];
export type Candidate = Schemas["CandidateOut"];
export type Generation = Sent<Schemas["GenerationOut"], "candidates">;
export type GenerateRequest = Schemas["GenerateRequest"];
export type GenerateAccepted = Schemas["GenerateAccepted"];
export type SymbolInfo = Schemas["SymbolOut"];
export type Symbols = Schemas["SymbolsOut"];

/**
 * A generation's status, as the server writes it (`assay.services.generation_jobs`):
 * `queued` and `running` while it works, then `finished` or `error` (an interrupted or
 * cancelled one is an `error` whose message says so).
 */
export type GenerationStatus = "queued" | "running" | "finished" | "error";
export const GENERATION_ACTIVE: readonly string[] = ["queued", "running"] satisfies GenerationStatus[];

// -- the WebSocket's events (assay.contracts.events) ----------------------------------

/** An event as the server stores, replays and streams it. */
export type EventEnvelope = Schemas["EventEnvelope"];
/** Every event payload, discriminated by its `type` (the envelope's). */
export type EventPayload = EventEnvelope["payload"];

/** A generated test as a `generation.candidate` event carries it: under `candidate`. */
export type EventCandidate = Schemas["GenerationCandidate"];

/** A `generation.*` event's payload, narrowed by its `type`. */
export type GenerationEvent = Extract<EventPayload, { type: `generation.${string}` }>;
