"""`assay project settings|environment`: a project's settings and what they make of it."""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.table import Table

from assay.cli.api_client import TOKEN_OPTION, URL_OPTION, ApiClient

project_app = typer.Typer(help="A project's settings and environment.", no_args_is_help=True)
console = Console()


@project_app.command("settings")
def settings(
    name: str = typer.Argument(..., help="Project name."),
    set_: list[str] = typer.Option(
        [], "--set", help="KEY=JSON, e.g. groups='[\"test\"]' or env='{\"TZ\": \"UTC\"}'."),
    unset: list[str] = typer.Option([], "--unset", help="A key to go back to its default."),
    url: str = URL_OPTION,
    token: str | None = TOKEN_OPTION,
) -> None:
    """Show the project's stored settings, or change them with --set/--unset.

    Values are JSON (a bare word is taken as a string). The server checks them and
    answers with what to fix; `[tool.assay]` in the project's pyproject still wins.
    """
    api = ApiClient(url, token)
    project_id = api.project_id(name)
    current = dict(api.request("GET", f"/projects/{project_id}")["settings"] or {})
    if set_ or unset:
        for item in set_:
            key, sep, raw = item.partition("=")
            if not sep:
                raise typer.BadParameter(f"{item!r} is not KEY=VALUE", param_hint="--set")
            try:
                current[key] = json.loads(raw)
            except ValueError:
                current[key] = raw
        for key in unset:
            current.pop(key, None)
        current = api.request("PATCH", f"/projects/{project_id}",
                              json={"settings": current})["settings"]
    typer.echo(json.dumps(current, indent=2, sort_keys=True))


@project_app.command("environment")
def environment(
    name: str = typer.Argument(..., help="Project name."),
    url: str = URL_OPTION,
    token: str | None = TOKEN_OPTION,
) -> None:
    """What Assay detected in the project, what it installs, and the environment's state."""
    api = ApiClient(url, token)
    env = api.request("GET", f"/projects/{api.project_id(name)}/environment")
    console.print(f"Python [bold]{env['python_version']}[/] ({env['python_reason']}); "
                  f"project installed: {'yes' if env['install_project'] else 'no'}")
    table = Table("declaration", "used", "requirements")
    for d in env["declarations"]:
        table.add_row(d["source"], "yes" if d["used"] else "no",
                      ", ".join(d["requirements"]) or "-")
    console.print(table)
    copies = env["environment"]["copies"]
    state = ", ".join(f"copy {c['copy']}: {c['state']}" for c in copies) or "not built yet"
    console.print(f"environment {env['env_key']}: {state}; "
                  f"{len(env['environment']['packages'])} packages")
