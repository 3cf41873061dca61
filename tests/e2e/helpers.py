"""What the E2E tests do again and again: log in, seed through the API, take screenshots."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Page, ViewportSize, expect

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"

# Controls that change something: a viewer must see none of them.
MUTATING = [
    "New project", "Create project", "New test case", "AI Generate Tests", "Run selected",
    "Set status", "Add tag", "Remove tag", "Create test case", "Save changes", "Cancel",
    "Rerun failed", "Rerun all", "Poll", "Restart", "Add user", "Generate",
    "Run test", "Edit test case", "Delete test case",
]


def shot(page: Page, name: str, hide: str | None = None) -> None:
    """Save `docs/screenshots/<name>.png` (the viewport, 1400x900, animations frozen).

    `hide`: a machine-specific prefix (a temp directory) shown as "…" in the picture,
    so committed screenshots neither leak nor change with the machine's paths.
    """
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    if hide:
        page.evaluate("""(prefix) => {
            const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
            for (let n = walk.nextNode(); n; n = walk.nextNode())
                if (n.nodeValue.includes(prefix)) n.nodeValue = n.nodeValue.split(prefix).join("…");
        }""", hide)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), animations="disabled", caret="hide")


SIZES: dict[str, ViewportSize] = {
    "1280": {"width": 1280, "height": 800}, "1920": {"width": 1920, "height": 1080},
}
"""The widths the dashboard must hold at: a laptop and a desktop screen."""


def no_sideways_scroll(page: Page) -> bool:
    return bool(page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"))


def shots(page: Page, name: str, hide: str | None = None) -> None:
    """`docs/screenshots/<name>-1280.png` and `<name>-1920.png`: the page at both sizes.

    Each size is checked first for what breaks a layout most: a page wider than the
    window. The viewport the test had is restored afterwards.
    """
    before = page.viewport_size
    for suffix, size in SIZES.items():
        page.set_viewport_size(size)
        assert no_sideways_scroll(page), f"{name} scrolls sideways at {suffix} px"
        shot(page, f"{name}-{suffix}", hide=hide)
    if before:
        page.set_viewport_size(before)


def login(page: Page, url: str, username: str, password: str) -> None:
    page.goto(f"{url}/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("link", name="Test Cases")).to_be_visible()
    expect(page.get_by_role("status", name="Live connection")).to_have_text("Live", timeout=15_000)


def nav(page: Page, name: str) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name=name).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(name)


def mark_no_reload(page: Page) -> None:
    """Put a flag on the window: it survives anything but a page load."""
    page.evaluate("window.__assayNoReload = true")


def assert_not_reloaded(page: Page) -> None:
    assert page.evaluate("window.__assayNoReload === true"), "the page was reloaded"


def record_texts(page: Page, label: str) -> None:
    """Record every text the element named `label` shows, in order (no polling gaps)."""
    page.evaluate("""(label) => {
        const seen = (window.__assayTexts ??= {})[label] = [];
        const note = () => {
            const el = document.querySelector(`[aria-label="${label}"]`);
            const text = el ? el.textContent.trim() : null;
            if (text && seen[seen.length - 1] !== text) seen.push(text);
        };
        note();
        new MutationObserver(note).observe(document.body,
            {subtree: true, childList: true, characterData: true, attributes: true});
    }""", label)


def recorded_texts(page: Page, label: str) -> list[str]:
    return list(page.evaluate("(label) => window.__assayTexts[label]", label))


# -- seeding through the API -------------------------------------------------------------

def make_project(api: httpx.Client, path: Path, name: str = "sample") -> dict[str, Any]:
    r = api.post("/projects", json={"name": name, "source": {"type": "path", "path": str(path)}})
    assert r.status_code == 201, r.text
    return dict(r.json())


def add_test(api: httpx.Client, project_id: str, title: str, code: str,
             **fields: Any) -> str:
    r = api.post("/tests", json={"project_id": project_id, "title": title, "code": code,
                                 **fields})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def sleeping_test(name: str, seconds: float, ok: bool = True) -> str:
    check = "assert 1 + 1 == 2" if ok else "assert 1 + 1 == 3, 'arithmetic is broken'"
    return f"import time\n\n\ndef test_{name}():\n    time.sleep({seconds})\n    {check}\n"


def queue_plan(api: httpx.Client, project_id: str, ids: list[str], name: str = "",
               priority: str = "medium") -> dict[str, Any]:
    r = api.post("/execution/plans", json={"project_id": project_id, "test_case_ids": ids,
                                           "priority": priority, "name": name})
    assert r.status_code == 201, r.text
    return dict(r.json())


def wait_plan(api: httpx.Client, plan_id: str, until: set[str],
              timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        plan = api.get(f"/execution/plans/{plan_id}").json()
        if plan["status"] in until:
            return dict(plan)
        assert time.monotonic() < deadline, f"plan stuck in {plan['status']}: {plan}"
        time.sleep(0.1)


def make_user(api: httpx.Client, username: str, role: str) -> str:
    password = f"{username}-password-1"
    r = api.post("/users", json={"username": username, "password": password, "role": role})
    assert r.status_code == 201, r.text
    return password
