"""`assay generate`: generate tests from a diff or a function, with live progress."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.syntax import Syntax
from websockets.sync.client import connect

from assay.cli.api_client import TOKEN_OPTION, URL_OPTION, ApiClient

console = Console(stderr=True)


def register(app: typer.Typer) -> None:
    @app.command("generate")
    def generate_command(
        project: str = typer.Option(..., "--project", "-p", help="Project name."),
        diff: str | None = typer.Option(None, help="A .patch file, or - for standard input."),
        function: str | None = typer.Option(None, help="pkg.module:function or Class.method."),
        engine: str = typer.Option("builtin", help="builtin (offline) or llm."),
        max_tests: int = typer.Option(20, help="At most this many candidates."),
        run: bool = typer.Option(True, "--run/--no-run", help="Run accepted tests at once."),
        url: str = URL_OPTION,
        token: str | None = TOKEN_OPTION,
    ) -> None:
        """Generate tests, keep only those that pass 3 sandboxed runs and add coverage."""
        if (diff is None) == (function is None):
            raise typer.BadParameter("give exactly one of --diff or --function")
        api = ApiClient(url, token)
        body: dict[str, Any] = {
            "project_id": api.project_id(project),
            "engine": engine,
            "max_tests": max_tests,
            "auto_execute": run,
        }
        if diff is not None:
            text = sys.stdin.read() if diff == "-" else Path(diff).read_text()
            body.update(mode="diff", diff=text)
        else:
            body.update(mode="function", target=function)
        gen = follow(api, body)
        raise typer.Exit(show(gen))


def follow(api: ApiClient, body: dict[str, Any]) -> dict[str, Any]:
    with connect(api.ws_url(token=api.token), open_timeout=10) as ws:
        json.loads(ws.recv(timeout=10))  # subscribed before the generation starts
        gid = api.request("POST", "/tests/generate", json=body)["generation_id"]
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                      TextColumn("{task.fields[accepted]} accepted"), TimeElapsedColumn(),
                      console=console) as progress:
            task = progress.add_task("starting", total=None, accepted=0)
            accepted = 0
            while True:
                try:
                    msg = json.loads(ws.recv(timeout=30))
                except TimeoutError:
                    gen = api.request("GET", f"/generations/{gid}")
                    if gen["status"] not in ("queued", "running"):
                        return dict(gen)
                    continue
                payload = msg.get("payload") or {}
                if payload.get("generation_id") != gid:
                    continue
                kind = msg["type"]
                if kind == "generation.targets":
                    progress.update(task, description=f"{len(payload.get('targets', []))} "
                                    "target(s): observing")
                elif kind == "generation.phase":
                    total = payload.get("candidates")
                    progress.update(task, description=str(payload.get("phase")),
                                    total=total, completed=0)
                elif kind == "generation.candidate":
                    if payload.get("candidate", {}).get("verdict") == "accepted":
                        accepted += 1
                    progress.update(task, advance=1, accepted=accepted)
                elif kind == "generation.finished":
                    break
    return dict(api.request("GET", f"/generations/{gid}"))


def show(gen: dict[str, Any]) -> int:
    for note in gen.get("notes") or []:
        console.print(f"[dim]note:[/] {note}")
    if gen.get("error"):
        console.print(f"[red]{gen['error']}[/]")
    accepted = [c for c in gen["candidates"] if c["verdict"] == "accepted"]
    for cand in accepted:
        console.rule(f"[green]accepted[/] {cand['name']} — {cand['target']}")
        console.print(Syntax(cand["code"], "python", theme="ansi_dark"))
    verdicts: dict[str, int] = {}
    for c in gen["candidates"]:
        verdicts[c["verdict"]] = verdicts.get(c["verdict"], 0) + 1
    console.print("candidates: " + (", ".join(f"{n} {v}" for v, n in verdicts.items()) or "none"))
    for target, cov in (gen.get("coverage") or {}).items():
        total = cov.get("lines_total") or 0
        done = cov.get("lines_covered") or 0
        pct = 100 * done / total if total else 0
        console.print(f"coverage of {target}: {done}/{total} target lines ({pct:.0f} %)")
    if gen.get("plan_id"):
        console.print(f"running them in plan {gen['plan_id']}")
    return 0 if accepted and gen["status"] == "finished" else 1
