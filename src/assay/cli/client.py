"""`assay run`: queue a plan from the command line and follow it live, CI-style."""

from __future__ import annotations

import json
import time
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from websockets.exceptions import WebSocketException
from websockets.sync.client import connect

from assay.cli.api_client import TOKEN_OPTION, URL_OPTION, ApiClient

console = Console(stderr=True)
FINAL = {"passed", "failed", "error", "cancelled"}


def register(app: typer.Typer) -> None:
    @app.command()
    def run(
        project: str = typer.Option(..., "--project", "-p", help="Project name."),
        tag: list[str] = typer.Option([], "--tag", "-t", help="Only tests with this tag."),
        priority: str = typer.Option("medium", help="critical, high, medium or low."),
        wait: bool = typer.Option(True, "--wait/--no-wait", help="Follow until it finishes."),
        url: str = URL_OPTION,
        token: str | None = TOKEN_OPTION,
    ) -> None:
        """Queue the project's active tests (optionally by tag) and show live progress.

        Exits 1 when a test failed or errored, so it drops into any CI.
        """
        api = ApiClient(url, token)
        project_id = api.project_id(project)
        body = {
            "project_id": project_id,
            "priority": priority,
            # No name: the server names it after the selection ("tags: smoke · 4 tests").
            "selection": {"tags": tag, "status": ["active"]},
        }
        if not wait:
            plan = api.request("POST", "/execution/plans", json=body)
            typer.echo(plan["id"])
            return
        plan = follow(api, body)
        raise typer.Exit(report(api, plan["id"]))


def follow(api: ApiClient, body: dict[str, Any]) -> dict[str, Any]:
    """Create the plan with the WebSocket already open, so no event can be missed."""
    with connect(api.ws_url(token=api.token), open_timeout=10) as ws:
        json.loads(ws.recv(timeout=10))  # hello: subscribed before the plan exists
        plan = api.request("POST", "/execution/plans", json=body)
        total = plan["total"]
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("[green]{task.fields[passed]} passed[/] [red]{task.fields[failed]} failed"),
            TimeElapsedColumn(),
            console=console,
        ) as progress:
            task = progress.add_task("queued", total=total, passed=0, failed=0)
            counts = {"passed": 0, "failed": 0}
            while True:
                try:
                    message = json.loads(ws.recv(timeout=30))
                except TimeoutError:
                    if api.request("GET", f"/execution/plans/{plan['id']}")["status"] in FINAL:
                        break
                    continue
                except WebSocketException:
                    return follow_by_polling(api, plan)
                if message.get("plan_id") != plan["id"] or "." not in message["type"]:
                    continue
                kind, payload = message["type"], message.get("payload") or {}
                if kind == "plan.started":
                    progress.update(task, description="running")
                elif kind == "test.finished":
                    status = payload.get("status")
                    key = "passed" if status in ("passed", "skipped") else "failed"
                    counts[key] += 1
                    progress.update(
                        task, advance=1, passed=counts["passed"], failed=counts["failed"]
                    )
                elif kind in ("plan.finished", "plan.cancelled"):
                    progress.update(task, description=payload.get("status", "finished"))
                    break
    return plan


def follow_by_polling(api: ApiClient, plan: dict[str, Any]) -> dict[str, Any]:
    """The live connection dropped: fall back to asking until the plan is final."""
    while api.request("GET", f"/execution/plans/{plan['id']}")["status"] not in FINAL:
        time.sleep(1)
    return plan


def report(api: ApiClient, plan_id: str) -> int:
    plan = api.request("GET", f"/execution/plans/{plan_id}")
    # The plan's detail holds only its first runs: page through the failures instead.
    bad = api.pages(f"/execution/plans/{plan_id}/runs", {"status": ["failed", "error"]})
    for run in bad:
        console.rule(f"[red]{run['status'].upper()}[/] {run['name']}")
        console.print(run["failure"] or "(no failure text)", markup=False, highlight=False)
    c = plan["counts"]
    console.print(
        f"plan {plan_id}: [bold]{plan['status']}[/] — {c['passed']} passed, {c['failed']} failed, "
        f"{c['error']} errors, {c['skipped']} skipped, {c['cancelled']} cancelled"
    )
    if plan.get("error"):
        console.print(f"[red]{plan['error']}[/]", markup=True)
    return 0 if plan["status"] == "passed" else 1
