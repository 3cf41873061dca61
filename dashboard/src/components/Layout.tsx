import type { ReactNode } from "react";
import { NavLink } from "react-router-dom";
import { useSession } from "../auth/session";
import { useLive } from "../live/LiveProvider";
import { ProjectPicker } from "./project";

const NAV: { to: string; label: string; admin?: boolean; icon: string }[] = [
  { to: "/projects", label: "Projects", icon: "M3 7h6l2 2h10v10H3z" },
  { to: "/tests", label: "Test Cases", icon: "M5 4h14v16H5zM8 9h8M8 13h8M8 17h5" },
  { to: "/execution", label: "Test Execution", icon: "M7 5l12 7-12 7z" },
  { to: "/insights", label: "Insights", icon: "M4 20V10M10 20V4M16 20v-7M22 20H2" },
  { to: "/orchestrator", label: "Orchestrator", icon: "M12 3v4M12 17v4M3 12h4M17 12h4M12 8a4 4 0 1 1 0 8 4 4 0 0 1 0-8z" },
  { to: "/settings", label: "Settings", icon: "M12 8a4 4 0 1 1 0 8 4 4 0 0 1 0-8zM4 12h2M18 12h2M12 4v2M12 18v2" },
  { to: "/users", label: "Users", admin: true, icon: "M9 11a4 4 0 1 0 0-8 4 4 0 0 0 0 8zM2 21c0-4 3-6 7-6s7 2 7 6M17 11a3 3 0 1 0 0-6M19 15c2 1 3 3 3 6" },
];

const CONNECTION_TEXT = {
  idle: "Connecting",
  connecting: "Connecting",
  replaying: "Catching up",
  live: "Live",
  down: "Offline",
};

export function LiveIndicator() {
  const { state } = useLive();
  return (
    <span className={`live live-${state.connection}`} role="status" aria-label="Live connection">
      <span className="dot" aria-hidden="true" />
      {CONNECTION_TEXT[state.connection]}
    </span>
  );
}

export function LiveNotice() {
  const { state, dismiss } = useLive();
  if (!state.notice) return null;
  return (
    <div className={`banner banner-${state.notice.kind}`} role="alert" aria-label="Live connection notice">
      <span>{state.notice.text}</span>
      {state.notice.kind === "caught_up" && (
        <button type="button" className="ghost" onClick={dismiss} aria-label="Dismiss notice">
          Dismiss
        </button>
      )}
    </div>
  );
}

export function Layout({ children }: { children: ReactNode }) {
  const { user, can, logout } = useSession();
  return (
    <div className="shell">
      <aside className="sidebar">
        <div className="brand">
          <svg viewBox="0 0 24 24" width="26" height="26" aria-hidden="true">
            <rect width="24" height="24" rx="6" fill="#6366f1" />
            <path d="M6 12.5l4 4L18 8" stroke="#fff" strokeWidth="2.5" fill="none" strokeLinecap="round" />
          </svg>
          <span>Assay</span>
        </div>
        <nav aria-label="Main">
          {NAV.filter((n) => !n.admin || can("admin")).map((n) => (
            <NavLink key={n.to} to={n.to} className={({ isActive }) => (isActive ? "nav active" : "nav")}>
              <svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true">
                <path d={n.icon} fill="none" stroke="currentColor" strokeWidth="1.8" strokeLinejoin="round" />
              </svg>
              {n.label}
            </NavLink>
          ))}
        </nav>
        <div className="sidebar-foot">
          <LiveIndicator />
        </div>
      </aside>
      <div className="main">
        <header className="topbar">
          <ProjectPicker />
          <div className="spacer" />
          {user && (
            <span className="who">
              {user.username} <span className={`role role-${user.role}`}>{user.role}</span>
            </span>
          )}
          <button type="button" className="ghost" onClick={() => logout()}>
            Log out
          </button>
        </header>
        <LiveNotice />
        <main className="content">{children}</main>
      </div>
    </div>
  );
}
