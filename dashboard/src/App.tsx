import { lazy, Suspense } from "react";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { BrowserRouter, Navigate, Route, Routes } from "react-router-dom";
import { ApiError } from "./api/client";
import { SessionProvider, useSession } from "./auth/session";
import { LiveProvider } from "./live/LiveProvider";
import { Layout } from "./components/Layout";
import { ProjectProvider } from "./components/project";
import { LoginPage } from "./pages/LoginPage";
import { ProjectsPage } from "./pages/ProjectsPage";
import { TestCasesPage } from "./pages/TestCasesPage";
import { TestCasePage } from "./pages/TestCasePage";
import { ExecutionPage } from "./pages/ExecutionPage";
import { OrchestratorPage } from "./pages/OrchestratorPage";
import { SettingsPage } from "./pages/SettingsPage";
import { UsersPage } from "./pages/UsersPage";

// Charts are their own chunk: most visits never open Insights.
const InsightsPage = lazy(() => import("./pages/InsightsPage"));

export function makeQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: {
        staleTime: 10_000,
        refetchOnWindowFocus: false,
        retry: (count, err) =>
          !(err instanceof ApiError && err.status >= 400 && err.status < 500) && count < 2,
      },
    },
  });
}

function Authed() {
  const { token, user, can, logout } = useSession();
  if (!token) return <Navigate to="/login" replace />;
  return (
    <LiveProvider token={token} onUnauthorized={() => logout("Your session expired. Please log in again.")}>
      <ProjectProvider>
        <Layout>
          {!user ? (
            <p className="muted">Loading…</p>
          ) : (
            <Suspense fallback={<p className="muted">Loading…</p>}>
              <Routes>
                <Route path="/" element={<Navigate to="/tests" replace />} />
                <Route path="/projects" element={<ProjectsPage />} />
                <Route path="/tests" element={<TestCasesPage />} />
                <Route path="/tests/:testId" element={<TestCasePage />} />
                <Route path="/execution" element={<ExecutionPage />} />
                <Route path="/execution/:planId" element={<ExecutionPage />} />
                <Route path="/insights" element={<InsightsPage />} />
                <Route path="/orchestrator" element={<OrchestratorPage />} />
                <Route path="/settings" element={<SettingsPage />} />
                <Route path="/users" element={can("admin") ? <UsersPage /> : <Navigate to="/" replace />} />
                <Route path="*" element={<Navigate to="/tests" replace />} />
              </Routes>
            </Suspense>
          )}
        </Layout>
      </ProjectProvider>
    </LiveProvider>
  );
}

export function App({ client = makeQueryClient() }: { client?: QueryClient }) {
  return (
    <QueryClientProvider client={client}>
      <SessionProvider>
        <BrowserRouter>
          <Routes>
            <Route path="/login" element={<LoginPage />} />
            <Route path="/*" element={<Authed />} />
          </Routes>
        </BrowserRouter>
      </SessionProvider>
    </QueryClientProvider>
  );
}
