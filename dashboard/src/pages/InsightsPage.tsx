import { useState } from "react";
import { useQuery } from "@tanstack/react-query";
import { get, unavailable } from "../api/client";
import type { Insights } from "../api/types";
import { useProject } from "../components/project";
import { BarList, DurationChart, PassRateChart } from "../components/charts";
import { Empty, ErrorNote, seconds } from "../components/ui";

export default function InsightsPage() {
  const { projectId, project } = useProject();
  const [days, setDays] = useState(30);
  const q = useQuery({
    queryKey: ["insights", projectId, days],
    queryFn: () => get<Insights>(`/projects/${projectId}/insights`, { days }),
    enabled: !!projectId,
    staleTime: 30_000,
  });
  const d = q.data;
  const runs = d?.pass_rate.reduce((s, x) => s + x.passed + x.failed + x.errored, 0) ?? 0;
  const passed = d?.pass_rate.reduce((s, x) => s + x.passed, 0) ?? 0;
  if (!projectId) return <Empty title="No project yet">Create a project first.</Empty>;
  return (
    <section>
      <div className="page-head">
        <h1>
          Insights <span className="muted">{project?.name}</span>
        </h1>
        <label className="inline">
          Period
          <select value={days} onChange={(e) => setDays(Number(e.target.value))}>
            <option value={7}>Last 7 days</option>
            <option value={30}>Last 30 days</option>
            <option value={90}>Last 90 days</option>
          </select>
        </label>
      </div>
      {q.error && <ErrorNote>{unavailable(q.error, "Insights") ?? q.error.message}</ErrorNote>}
      {d && (
        <>
          <div className="stats">
            <div className="stat">
              <div className="stat-label">Runs</div>
              <div className="stat-value">{runs}</div>
            </div>
            <div className="stat">
              <div className="stat-label">Pass rate</div>
              <div className="stat-value">{runs ? `${Math.round((100 * passed) / runs)}%` : "—"}</div>
            </div>
            <div className="stat">
              <div className="stat-label">Flaky tests</div>
              <div className="stat-value">{d.flaky.length}</div>
            </div>
          </div>
          <div className="cards">
            <figure className="card">
              <figcaption>Pass rate over time</figcaption>
              <PassRateChart data={d.pass_rate} />
              <div className="legend">
                <span className="key key-ok">passed</span>
                <span className="key key-bad">failed</span>
                <span className="key key-warn">errors</span>
                <span className="key key-line">pass rate</span>
              </div>
            </figure>
            <figure className="card">
              <figcaption>Duration trend (test time per day)</figcaption>
              <DurationChart data={d.duration} />
            </figure>
            <figure className="card">
              <figcaption>Slowest tests (average)</figcaption>
              <BarList
                label="Slowest tests"
                rows={d.slowest.map((s) => ({ key: s.test_case_id, name: s.title, value: s.avg_s, text: seconds(s.avg_s) }))}
              />
            </figure>
            <figure className="card">
              <figcaption>Most failing tests</figcaption>
              <BarList
                label="Most failing tests"
                tone="bad"
                rows={d.most_failing.map((s) => ({
                  key: s.test_case_id,
                  name: s.title,
                  value: s.failures,
                  text: `${s.failures}/${s.runs} runs`,
                }))}
              />
            </figure>
            <figure className="card">
              <figcaption>Flaky tests (pass/fail flips)</figcaption>
              <BarList
                label="Flaky tests"
                tone="warn"
                rows={d.flaky.map((s) => ({ key: s.test_case_id, name: s.title, value: s.flips, text: `${s.flips} flips` }))}
              />
            </figure>
          </div>
        </>
      )}
    </section>
  );
}
