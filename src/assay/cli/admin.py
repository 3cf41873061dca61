"""`assay user ...` and `assay token ...`: administration on the server's own database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from assay.vocabulary import Role

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from assay.db.models import User

# The database's modules (SQLAlchemy, Alembic, the models) are imported by the commands
# that use them: `assay` is one program, and every command that only speaks HTTP
# (`assay run`, in every CI job) would otherwise pay ~1.3 s to import them.

users = typer.Typer(help="Manage users (runs against the server's database).", no_args_is_help=True)
tokens = typer.Typer(help="Manage API tokens for CI and scripts.", no_args_is_help=True)
console = Console()


@contextmanager
def session() -> Iterator[Session]:
    from assay.config import get_settings
    from assay.db.engine import Database
    from assay.db.migrate import upgrade

    settings = get_settings()
    settings.ensure_data_dir()
    upgrade(settings.resolved_database_url)
    db = Database(settings.resolved_database_url)
    try:
        with db.session() as s:
            yield s
    finally:
        db.dispose()


def _user(s: Session, username: str) -> User:
    from sqlalchemy import select

    from assay.db.models import User

    user = s.scalar(select(User).where(User.username == username))
    if user is None:
        console.print(f"[red]no user named {username!r}[/red]")
        raise typer.Exit(1)
    return user


@users.command("create")
def user_create(
    username: str,
    role: Role = typer.Option(Role.viewer, help="admin, editor or viewer"),
    password: str = typer.Option(
        ...,
        prompt=True,
        hide_input=True,
        confirmation_prompt=True,
        envvar="ASSAY_NEW_USER_PASSWORD",
    ),
) -> None:
    """Create a user."""
    from assay.services.users import UserError, create_user

    with session() as s:
        try:
            create_user(s, username, password, role)
        except UserError as exc:
            console.print(f"[red]{exc}[/red]")
            raise typer.Exit(1) from exc
    console.print(f"created {role.value} {username!r}")


@users.command("list")
def user_list() -> None:
    """List users."""
    from sqlalchemy import select

    from assay.db.models import User

    with session() as s:
        table = Table("username", "role", "disabled", "created")
        for u in s.scalars(select(User).order_by(User.username)):
            table.add_row(u.username, u.role, "yes" if u.disabled else "", u.created_at.isoformat())
        console.print(table)


@users.command("set-role")
def user_set_role(username: str, role: Role) -> None:
    """Change a user's role."""
    with session() as s:
        _user(s, username).role = role.value
    console.print(f"{username!r} is now {role.value}")


@users.command("disable")
def user_disable(username: str, enable: bool = typer.Option(False, "--enable")) -> None:
    """Disable a user (their tokens stop working at once); --enable undoes it."""
    with session() as s:
        _user(s, username).disabled = not enable
    console.print(f"{username!r} {'enabled' if enable else 'disabled'}")


@tokens.command("create")
def token_create(
    username: str, name: str = typer.Option(..., help="What the token is for.")
) -> None:
    """Create an API token for a user; it is printed once."""
    from assay.db.models import ApiToken
    from assay.security import api_tokens

    with session() as s:
        user = _user(s, username)
        secret = api_tokens.generate()
        s.add(
            ApiToken(
                user_id=user.id, name=name, prefix=secret[:12], token_hash=api_tokens.digest(secret)
            )
        )
    typer.echo(secret)


@tokens.command("list")
def token_list(username: str) -> None:
    """List a user's tokens (never the tokens themselves)."""
    with session() as s:
        user = _user(s, username)
        # The id is what `assay token revoke` takes and the prefix is how a person tells
        # tokens apart: never shorten them, however narrow the terminal (rich would
        # otherwise cut the id to "edc387a7b6764…").
        table = Table("name")
        table.add_column("prefix", no_wrap=True, min_width=12)
        for heading in ("created", "last used", "revoked"):
            table.add_column(heading)
        table.add_column("id", no_wrap=True, min_width=32)
        for t in user.tokens:
            table.add_row(
                t.name,
                t.prefix,
                t.created_at.isoformat(timespec="seconds"),
                t.last_used_at.isoformat(timespec="seconds") if t.last_used_at else "",
                t.revoked_at.isoformat(timespec="seconds") if t.revoked_at else "",
                t.id,
            )
        console.print(table)


@tokens.command("revoke")
def token_revoke(token_id: str) -> None:
    """Revoke a token by id."""
    from assay.db.models import ApiToken

    with session() as s:
        token = s.get(ApiToken, token_id)
        if token is None:
            console.print(f"[red]no token {token_id!r}[/red]")
            raise typer.Exit(1)
        token.revoked_at = token.revoked_at or datetime.now(UTC)
    console.print("revoked")
