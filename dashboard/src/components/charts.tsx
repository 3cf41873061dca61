// Small hand-written SVG charts: no chart library, a few kB.

const W = 640;
const H = 200;
const PAD = { l: 36, r: 36, t: 10, b: 24 };

function shortDay(day: string) {
  const d = new Date(`${day}T00:00:00Z`);
  return d.toLocaleDateString(undefined, { month: "short", day: "numeric", timeZone: "UTC" });
}

function niceMax(v: number) {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  const n = v / p;
  return (n <= 1 ? 1 : n <= 2 ? 2 : n <= 5 ? 5 : 10) * p;
}

export function PassRateChart({ data }: { data: { day: string; passed: number; failed: number; errored: number }[] }) {
  const max = niceMax(Math.max(0, ...data.map((d) => d.passed + d.failed + d.errored)));
  const iw = W - PAD.l - PAD.r;
  const ih = H - PAD.t - PAD.b;
  const bw = iw / Math.max(1, data.length);
  const y = (v: number) => PAD.t + ih - (ih * v) / max;
  const runs = data.reduce((s, d) => s + d.passed + d.failed + d.errored, 0);
  const passed = data.reduce((s, d) => s + d.passed, 0);
  const rate = runs ? Math.round((100 * passed) / runs) : null;
  const points = data
    .map((d, i) => {
      const n = d.passed + d.failed + d.errored;
      return n ? `${PAD.l + bw * i + bw / 2},${PAD.t + ih - (ih * d.passed) / n}` : null;
    })
    .filter(Boolean)
    .join(" ");
  const every = Math.ceil(data.length / 8);
  return (
    <svg
      viewBox={`0 0 ${W} ${H}`}
      className="chart"
      role="img"
      aria-label={`Pass rate over ${data.length} days: ${rate === null ? "no runs" : `${rate}% of ${runs} runs passed`}`}
    >
      {[0, 0.5, 1].map((f) => (
        <g key={f}>
          <line x1={PAD.l} x2={W - PAD.r} y1={y(max * f)} y2={y(max * f)} className="grid" />
          <text x={PAD.l - 6} y={y(max * f) + 4} className="axis" textAnchor="end">
            {Math.round(max * f)}
          </text>
          <text x={W - PAD.r + 6} y={PAD.t + ih - ih * f + 4} className="axis">
            {Math.round(100 * f)}%
          </text>
        </g>
      ))}
      {data.map((d, i) => {
        const x = PAD.l + bw * i + bw * 0.15;
        const w = bw * 0.7;
        let base = 0;
        const seg = (v: number, cls: string) => {
          const r = <rect key={cls} x={x} width={w} y={y(base + v)} height={y(base) - y(base + v)} className={cls} />;
          base += v;
          return r;
        };
        return (
          <g key={d.day}>
            <title>{`${d.day}: ${d.passed} passed, ${d.failed} failed, ${d.errored} errors`}</title>
            {seg(d.passed, "fill-ok")}
            {seg(d.failed, "fill-bad")}
            {seg(d.errored, "fill-warn")}
            {i % every === 0 && (
              <text x={x + w / 2} y={H - 6} className="axis" textAnchor="middle">
                {shortDay(d.day)}
              </text>
            )}
          </g>
        );
      })}
      {points && <polyline points={points} className="line-rate" />}
    </svg>
  );
}

export function DurationChart({ data }: { data: { day: string; total_s: number }[] }) {
  const max = niceMax(Math.max(0, ...data.map((d) => d.total_s)));
  const iw = W - PAD.l - PAD.r;
  const ih = H - PAD.t - PAD.b;
  const step = data.length > 1 ? iw / (data.length - 1) : 0;
  const x = (i: number) => PAD.l + step * i;
  const y = (v: number) => PAD.t + ih - (ih * v) / max;
  const line = data.map((d, i) => `${x(i)},${y(d.total_s)}`).join(" ");
  const area = `${PAD.l},${y(0)} ${line} ${x(data.length - 1)},${y(0)}`;
  const every = Math.ceil(data.length / 8);
  const total = data.reduce((s, d) => s + d.total_s, 0);
  return (
    <svg viewBox={`0 0 ${W} ${H}`} className="chart" role="img" aria-label={`Test time per day; ${Math.round(total)} s in total`}>
      {[0, 0.5, 1].map((f) => (
        <g key={f}>
          <line x1={PAD.l} x2={W - PAD.r} y1={y(max * f)} y2={y(max * f)} className="grid" />
          <text x={PAD.l - 6} y={y(max * f) + 4} className="axis" textAnchor="end">
            {max * f >= 100 ? Math.round(max * f) : +(max * f).toFixed(1)}s
          </text>
        </g>
      ))}
      {data.length > 0 && <polygon points={area} className="area" />}
      {data.length > 0 && <polyline points={line} className="line" />}
      {data.map((d, i) => (
        <g key={d.day}>
          <circle cx={x(i)} cy={y(d.total_s)} r={d.total_s ? 2.5 : 0} className="dot">
            <title>{`${d.day}: ${d.total_s.toFixed(1)} s`}</title>
          </circle>
          {i % every === 0 && (
            <text x={x(i)} y={H - 6} className="axis" textAnchor="middle">
              {shortDay(d.day)}
            </text>
          )}
        </g>
      ))}
    </svg>
  );
}

export function BarList({
  label,
  rows,
  tone = "info",
}: {
  label: string;
  rows: { key: string; name: string; value: number; text: string }[];
  tone?: "info" | "bad" | "warn";
}) {
  const max = Math.max(0, ...rows.map((r) => r.value)) || 1;
  if (!rows.length) return <p className="muted small">Nothing to show for this period.</p>;
  return (
    <ol className="barlist" aria-label={label}>
      {rows.map((r) => (
        <li key={r.key}>
          <span className="barlist-name" title={r.name}>
            {r.name}
          </span>
          <span className="barlist-bar">
            <span className={`fill-${tone}`} style={{ width: `${(100 * r.value) / max}%` }} />
          </span>
          <span className="barlist-value">{r.text}</span>
        </li>
      ))}
    </ol>
  );
}

function axisTime(s: number): string {
  if (s === 0) return "0";
  if (s < 1) return `${+(s * 1000).toFixed(s < 0.01 ? 1 : 0)} ms`;
  return s >= 100 ? `${Math.round(s)} s` : `${+s.toFixed(1)} s`;
}

const OUTCOME_FILL: Record<string, string> = {
  passed: "fill-ok",
  failed: "fill-bad",
  error: "fill-warn",
};

/**
 * A test's runs, oldest to newest: one bar each, as tall as it took, coloured by
 * outcome (skipped, cancelled and unfinished runs are grey stubs).
 */
export function RunHistoryChart({
  runs,
}: {
  runs: { id: string; status: string; duration_s: number | null; when: string }[];
}) {
  const h = 220;
  const pad = { l: 64, r: 8, t: 12, b: 10 };
  const max = niceMax(Math.max(0, ...runs.map((r) => r.duration_s ?? 0)));
  const iw = W - pad.l - pad.r;
  const ih = h - pad.t - pad.b;
  const bw = iw / Math.max(10, runs.length);
  const y = (v: number) => pad.t + ih - (ih * v) / max;
  const passed = runs.filter((r) => r.status === "passed").length;
  const finished = runs.filter((r) => ["passed", "failed", "error"].includes(r.status)).length;
  const label = finished
    ? `Last ${runs.length} runs: ${passed} of ${finished} finished runs passed`
    : `Last ${runs.length} runs: none finished yet`;
  return (
    <svg viewBox={`0 0 ${W} ${h}`} className="chart chart-runs" role="img" aria-label={label}>
      {[0, 0.5, 1].map((f) => (
        <g key={f}>
          <line x1={pad.l} x2={W - pad.r} y1={y(max * f)} y2={y(max * f)} className="grid" />
          <text x={pad.l - 6} y={y(max * f) + 4} className="axis axis-runs" textAnchor="end">
            {axisTime(max * f)}
          </text>
        </g>
      ))}
      {runs.map((r, i) => {
        const v = r.duration_s ?? 0;
        const top = Math.min(y(v), y(0) - 2);
        return (
          <rect
            key={r.id}
            data-status={r.status}
            x={pad.l + bw * i + bw * 0.15}
            width={bw * 0.7}
            y={top}
            height={y(0) - top}
            className={OUTCOME_FILL[r.status] ?? "fill-muted"}
          >
            <title>{`${r.when}: ${r.status}${r.duration_s == null ? "" : `, ${r.duration_s.toFixed(2)} s`}`}</title>
          </rect>
        );
      })}
    </svg>
  );
}
