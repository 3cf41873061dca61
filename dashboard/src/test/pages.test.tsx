import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { Route, Routes } from "react-router-dom";
import { describe, expect, it, vi, afterEach } from "vitest";
import { LoginPage } from "../pages/LoginPage";
import { TestCasesPage } from "../pages/TestCasesPage";
import { failureSummary } from "../pages/ExecutionPage";
import { codeProblem } from "../pages/TestCaseEditor";
import { symbolNames } from "../pages/GenerateDialog";
import { problemRange } from "../components/CodeEditor";
import { StatusBadge, ProgressBar, seconds } from "../components/ui";
import { ApiError } from "../api/client";
import type { Role, SymbolInfo } from "../api/types";
import { ProjectPicker } from "../components/project";
import { mockFetch, page, project, renderTree, shownSearch, signedIn, testCase, user, Where } from "./helpers";

afterEach(() => vi.unstubAllGlobals());

describe("LoginPage", () => {
  it("logs in with the labelled fields and stores the session", async () => {
    const calls = mockFetch({
      "POST /auth/login": () => ({ access_token: "abc", token_type: "bearer", expires_in: 3600 }),
      "GET /auth/me": () => user("admin"),
      "GET /projects": () => page([]),
    });
    render(renderTree(<Routes><Route path="/login" element={<LoginPage />} /><Route path="/" element={<p>home</p>} /></Routes>, "/login"));
    await userEvent.type(screen.getByLabelText("Username"), "admin");
    await userEvent.type(screen.getByLabelText("Password"), "secret-pw");
    await userEvent.click(screen.getByRole("button", { name: "Log in" }));
    await screen.findByText("home");
    expect(calls.find((c) => c.path === "/api/v1/auth/login")?.body).toEqual({ username: "admin", password: "secret-pw" });
    expect((JSON.parse(localStorage.getItem("assay.session")!) as { token: string }).token).toBe("abc");
  });

  it("shows the server's message on a wrong password", async () => {
    mockFetch({
      "POST /auth/login": () => new Response(JSON.stringify({ detail: "wrong username or password" }), { status: 401 }),
    });
    render(renderTree(<Routes><Route path="/login" element={<LoginPage />} /></Routes>, "/login"));
    await userEvent.type(screen.getByLabelText("Username"), "a");
    await userEvent.type(screen.getByLabelText("Password"), "b");
    await userEvent.click(screen.getByRole("button", { name: "Log in" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("wrong username or password");
  });

  it("says the session expired when the stored token has run out", () => {
    localStorage.setItem("assay.session", JSON.stringify({ token: "old", expiresAt: Date.now() - 1000 }));
    mockFetch({});
    render(renderTree(<Routes><Route path="/login" element={<LoginPage />} /></Routes>, "/login"));
    expect(screen.getByRole("alert")).toHaveTextContent("Your session expired");
  });
});

describe("TestCasesPage", () => {
  const routes = (role: Role) => ({
    "GET /auth/me": () => user(role),
    "GET /projects": () => page([project]),
    "GET /tests": (url: URL) =>
      url.searchParams.get("cursor")
        ? page([testCase("c3", "third")], 10_001)
        : page([testCase("c1", "first"), testCase("c2", "second")], 10_001, "CUR"),
  });

  it("an editor sees edit and run controls; selecting rows offers bulk actions", async () => {
    signedIn();
    const calls = mockFetch({
      ...routes("editor"),
      "POST /tests/bulk": () => ({ updated: 2 }),
    });
    render(renderTree(<TestCasesPage />));
    expect(await screen.findByRole("button", { name: "first" })).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "New test case" })).toBeInTheDocument();
    expect(screen.getByRole("button", { name: /AI Generate Tests/ })).toBeInTheDocument();
    expect(screen.getByText("1–2 of 10,001")).toBeInTheDocument();

    await userEvent.click(screen.getByRole("checkbox", { name: "Select all on this page" }));
    const bulk = screen.getByRole("region", { name: "Bulk actions" });
    expect(within(bulk).getByRole("button", { name: "Run selected" })).toBeEnabled();
    await userEvent.selectOptions(within(bulk).getByLabelText("New status"), "quarantined");
    await userEvent.click(within(bulk).getByRole("button", { name: "Set status" }));
    await screen.findByText("Updated 2 test cases.");
    expect(calls.find((c) => c.path === "/api/v1/tests/bulk")?.body).toEqual({ ids: ["c1", "c2"], status: "quarantined" });
  });

  it("pages with the server's cursor and filters on the server", async () => {
    signedIn();
    const calls = mockFetch(routes("viewer"));
    render(renderTree(<TestCasesPage />));
    await screen.findByRole("button", { name: "first" });
    await userEvent.click(screen.getByRole("button", { name: "Next page" }));
    expect(await screen.findByRole("button", { name: "third" })).toBeInTheDocument();
    expect(calls.some((c) => c.path.includes("cursor=CUR"))).toBe(true);
    await userEvent.selectOptions(screen.getByLabelText("Status filter"), "draft");
    await waitFor(() => expect(calls.some((c) => c.path.includes("status=draft") && !c.path.includes("cursor"))).toBe(true));
  });

  it("reads its whole view from the URL, and writes each change back to it", async () => {
    signedIn();
    const other = { ...project, id: "p2", name: "other" };
    const calls = mockFetch({ ...routes("viewer"), "GET /projects": () => page([project, other]) });
    const link = "?project=p2&q=add&origin=ai&priority=high&tag=api*&sort=title&order=asc&archived=1&page=2&cursor=CUR";
    render(
      renderTree(
        <>
          <ProjectPicker />
          <TestCasesPage />
          <Where />
        </>,
        `/tests${link}`,
      ),
    );
    await screen.findByRole("button", { name: "third" });
    const asked = () =>
      calls.filter((c) => c.path.startsWith("/api/v1/tests?")).map((c) => Object.fromEntries(new URL(c.path, "http://x").searchParams));
    // The link's project is shown (and chosen in the top bar); the other one is never read.
    expect(asked()).toEqual([
      {
        project_id: "p2",
        q: "add",
        origin: "ai",
        priority: "high",
        tag: "api*",
        sort: "title",
        order: "asc",
        include_archived: "true",
        limit: "50",
        cursor: "CUR",
      },
    ]);
    expect(screen.getByRole("heading", { level: 1 })).toHaveTextContent("other");
    expect(screen.getByLabelText("Project")).toHaveValue("p2");
    expect(screen.getByRole("searchbox", { name: "Search test cases" })).toHaveValue("add");
    expect(screen.getByLabelText("Status filter")).toHaveValue("");
    expect(screen.getByLabelText("Origin filter")).toHaveValue("ai");
    expect(screen.getByLabelText("Priority filter")).toHaveValue("high");
    expect(screen.getByLabelText("Tag filter")).toHaveValue("api*");
    expect(screen.getByLabelText("Sort by")).toHaveValue("title");
    expect(screen.getByRole("button", { name: /^Sort ascending/ })).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Show archived" })).toHaveAttribute("aria-pressed", "true");
    expect(screen.getByText("101–101 of 10,001")).toBeInTheDocument();
    const where = screen.getByTestId("where");
    expect(shownSearch(where).toString()).toBe(new URLSearchParams(link).toString());

    // A filter chosen is a step Back undoes, and starts at the first page again.
    await userEvent.selectOptions(screen.getByLabelText("Status filter"), "draft");
    await waitFor(() => expect(shownSearch(where).get("status")).toBe("draft"));
    expect(where).toHaveAttribute("data-how", "PUSH");
    expect(shownSearch(where).has("page") || shownSearch(where).has("cursor")).toBe(false);
    expect(shownSearch(where).get("q")).toBe("add");
    await waitFor(() => expect(asked().at(-1)).toMatchObject({ project_id: "p2", status: "draft", q: "add", tag: "api*" }));
    expect(asked().at(-1)).not.toHaveProperty("cursor");
    expect(asked().at(-1)).not.toHaveProperty("offset");

    // Typing replaces the URL's entry, after a pause.
    const search = screen.getByRole("searchbox", { name: "Search test cases" });
    await userEvent.clear(search);
    await userEvent.type(search, "mul");
    await waitFor(() => expect(shownSearch(where).get("q")).toBe("mul"));
    expect(where).toHaveAttribute("data-how", "REPLACE");
    await waitFor(() => expect(asked().at(-1)).toMatchObject({ q: "mul", status: "draft" }));

    // The next page is in the URL too; choosing another project starts it over there.
    await userEvent.click(screen.getByRole("button", { name: "Next page" }));
    await waitFor(() => expect(shownSearch(where).get("cursor")).toBe("CUR"));
    expect(shownSearch(where).get("page")).toBe("1");
    await userEvent.selectOptions(screen.getByLabelText("Project"), "p1");
    await waitFor(() => expect(shownSearch(where).get("project")).toBe("p1"));
    expect(shownSearch(where).has("page") || shownSearch(where).has("cursor")).toBe(false);
    expect(shownSearch(where).get("q")).toBe("mul");
    await waitFor(() => expect(asked().at(-1)).toMatchObject({ project_id: "p1", q: "mul" }));
  });

  it("a viewer sees no edit or run controls", async () => {
    signedIn();
    mockFetch(routes("viewer"));
    render(renderTree(<TestCasesPage />));
    await screen.findByRole("button", { name: "first" });
    expect(screen.queryByRole("button", { name: "New test case" })).toBeNull();
    expect(screen.queryByRole("button", { name: /AI Generate Tests/ })).toBeNull();
    expect(screen.queryByRole("checkbox")).toBeNull();
    expect(screen.queryByRole("button", { name: "Run selected" })).toBeNull();
  });
});

describe("small pieces", () => {
  it("reads the line and column of a code 422", () => {
    const err = new ApiError(422, [{ loc: ["body", "code"], msg: "syntax error at line 3", type: "syntax_error", ctx: { line: 3, column: 5 } }], "x");
    expect(codeProblem(err)).toEqual({ line: 3, column: 5, message: "syntax error at line 3" });
    expect(codeProblem(new ApiError(409, "stale", "stale"))).toBeNull();
  });

  it("maps a line/column to an editor range, clamped", () => {
    const doc = "a\nbcd\nef";
    expect(problemRange(doc, 2, 2)).toEqual({ from: 3, to: 5 });
    expect(problemRange(doc, 99, null)).toEqual({ from: 6, to: 8 });
  });

  it("summarises a pytest failure by its E line", () => {
    expect(failureSummary("x.py:3: in test\nE   assert 2 == 3\nmore")).toBe("assert 2 == 3");
    expect(failureSummary("Timeout after 5 s")).toBe("Timeout after 5 s");
    expect(failureSummary(null)).toBe("");
  });

  it("offers the symbols' targets", () => {
    const symbol = (target: string, kind = "function"): SymbolInfo => {
      const [module, qualname] = target.split(":");
      const name = qualname.split(".").pop()!;
      return { target, name, module, qualname, kind, signature: `${name}()`, file: "m.py", line_start: 1, line_end: 2 };
    };
    expect(symbolNames({ items: [symbol("m:f"), symbol("m:C.g", "method")], total: 2 })).toEqual(["m:f", "m:C.g"]);
    expect(symbolNames(undefined)).toEqual([]);
  });

  it("renders badges and an accessible progress bar", () => {
    render(
      <>
        <StatusBadge status="running" label="Plan status" live />
        <ProgressBar label="Plan progress" passed={2} failed={1} other={0} total={5} />
      </>,
    );
    expect(screen.getByRole("status", { name: "Plan status" })).toHaveTextContent("running");
    const bar = screen.getByRole("progressbar", { name: "Plan progress" });
    expect(bar).toHaveAttribute("aria-valuenow", "3");
    expect(bar).toHaveAttribute("aria-valuetext", "3 of 5 finished");
  });
});

describe("seconds", () => {
  it("shows a test faster than a millisecond as under one, never as 0 ms", () => {
    expect(seconds(0.0002)).toBe("<1 ms");
    expect(seconds(0)).toBe("<1 ms");
    expect(seconds(0.0007)).toBe("1 ms");
    expect(seconds(0.25)).toBe("250 ms");
    expect(seconds(3.456)).toBe("3.46 s");
    expect(seconds(null)).toBe("—");
  });
});
