import { useEffect, useId, useRef, useState, type InputHTMLAttributes, type ReactNode } from "react";

const TONE: Record<string, string> = {
  passed: "ok",
  finished: "ok",
  healthy: "ok",
  accepted: "ok",
  active: "ok",
  ready: "ok",
  failed: "bad",
  error: "bad",
  stopped: "bad",
  errored: "bad",
  running: "info",
  building: "info",
  queued: "wait",
  degraded: "warn",
  flaky: "warn",
  quarantined: "warn",
  no_new_coverage: "muted",
  cancelled: "muted",
  skipped: "muted",
  archived: "muted",
  draft: "muted",
};

/**
 * A coloured status pill showing the status word (e.g. "passed") with
 * `data-status`. With `live`, it is a polite live region named `label`
 * (e.g. "Plan status"), so changes are announced and easy to select by role.
 */
export function StatusBadge({ status, label, live }: { status: string; label?: string; live?: boolean }) {
  const tone = TONE[status] ?? "muted";
  return (
    <span
      className={`badge badge-${tone}`}
      data-status={status}
      title={label ? `${label}: ${status}` : status}
      {...(live ? { role: "status", "aria-label": label ?? "Status", "aria-live": "polite" as const } : {})}
    >
      {status === "running" && <span className="pulse" aria-hidden="true" />}
      {status.replace(/_/g, " ")}
    </span>
  );
}

export function PriorityTag({ priority }: { priority: string }) {
  return <span className={`prio prio-${priority}`}>{priority}</span>;
}

/** Stacked progress: passed / failed / other finished, out of total. */
export function ProgressBar({
  label,
  passed,
  failed,
  other,
  running = 0,
  total,
}: {
  label: string;
  passed: number;
  failed: number;
  other: number;
  running?: number;
  total: number;
}) {
  const done = passed + failed + other;
  const pct = (n: number) => (total ? `${(100 * n) / total}%` : "0%");
  return (
    <div
      className="progress"
      role="progressbar"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={total}
      aria-valuenow={done}
      aria-valuetext={`${done} of ${total} finished`}
    >
      <span className="seg seg-ok" style={{ width: pct(passed) }} />
      <span className="seg seg-bad" style={{ width: pct(failed) }} />
      <span className="seg seg-muted" style={{ width: pct(other) }} />
      <span className="seg seg-run" style={{ width: pct(running) }} />
    </div>
  );
}

export function Modal({
  title,
  onClose,
  children,
  wide,
}: {
  title: string;
  onClose: () => void;
  children: ReactNode;
  wide?: boolean;
}) {
  const id = useId();
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const prev = document.activeElement as HTMLElement | null;
    const first = ref.current?.querySelector<HTMLElement>("input, textarea, select, button:not(.close)");
    first?.focus();
    const onKey = (e: KeyboardEvent) => e.key === "Escape" && onClose();
    document.addEventListener("keydown", onKey);
    return () => {
      document.removeEventListener("keydown", onKey);
      prev?.focus?.();
    };
  }, [onClose]);
  return (
    <div className="backdrop" onMouseDown={(e) => e.target === e.currentTarget && onClose()}>
      <div
        ref={ref}
        className={`modal${wide ? " modal-wide" : ""}`}
        role="dialog"
        aria-modal="true"
        aria-labelledby={id}
      >
        <header className="modal-head">
          <h2 id={id}>{title}</h2>
          <button type="button" className="close ghost" aria-label="Close" onClick={onClose}>
            ×
          </button>
        </header>
        <div className="modal-body">{children}</div>
      </div>
    </div>
  );
}

export function ErrorNote({ error, children }: { error?: unknown; children?: ReactNode }) {
  if (!error && !children) return null;
  const text = children ?? (error instanceof Error ? error.message : String(error));
  return (
    <div className="note note-bad" role="alert">
      {text}
    </div>
  );
}

/**
 * A text input whose value lives elsewhere (in the URL): what is typed reaches `onCommit`
 * after a pause (or at Enter), not at every key; a new `value` from outside (Back, a
 * cleared filter) replaces what is shown.
 */
export function DebouncedInput({
  value,
  onCommit,
  delay = 300,
  ...input
}: Omit<InputHTMLAttributes<HTMLInputElement>, "value" | "onChange"> & {
  value: string;
  onCommit: (value: string) => void;
  delay?: number;
}) {
  const [text, setText] = useState(value);
  const [seen, setSeen] = useState(value);
  if (value !== seen) {
    // The URL changed under us (back, clear): show what it says.
    setSeen(value);
    setText(value);
  }
  useEffect(() => {
    if (text === value) return;
    const timer = setTimeout(() => onCommit(text), delay);
    return () => clearTimeout(timer);
  }, [text, value, onCommit, delay]);
  return (
    <input
      {...input}
      value={text}
      onChange={(e) => setText(e.target.value)}
      onKeyDown={(e) => {
        input.onKeyDown?.(e);
        if (e.key === "Enter") onCommit(text);
      }}
    />
  );
}

export function Empty({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="empty">
      <strong>{title}</strong>
      {children && <div>{children}</div>}
    </div>
  );
}

export function Stat({ label, value, hint }: { label: string; value: ReactNode; hint?: ReactNode }) {
  return (
    <div className="stat" role="group" aria-label={label}>
      <div className="stat-label">{label}</div>
      <div className="stat-value">{value}</div>
      {hint && <div className="stat-hint">{hint}</div>}
    </div>
  );
}

export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return "never";
  const s = Math.round((now - new Date(iso).getTime()) / 1000);
  if (s < 5) return "just now";
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86400)}d ago`;
}

/** A duration to read at a glance. Under half a millisecond is "<1 ms", not "0 ms":
 *  most unit tests are that fast, and "0 ms" reads as "did not run". */
export function seconds(s: number | null | undefined): string {
  if (s === null || s === undefined) return "—";
  if (s < 0.0005) return "<1 ms";
  if (s < 1) return `${Math.round(s * 1000)} ms`;
  if (s < 60) return `${s.toFixed(s < 10 ? 2 : 1)} s`;
  const m = Math.floor(s / 60);
  return `${m}m ${Math.round(s % 60)}s`;
}
