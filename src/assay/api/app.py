"""The application factory: one FastAPI app per server process."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.routing import APIRoute
from starlette.routing import Match
from starlette.types import Scope

from assay import __version__
from assay.api import scaleout
from assay.api.body_limit import BodyLimitMiddleware
from assay.api.context import AppContext
from assay.api.errors import assay_error, internal_error
from assay.api.methods import DeclaredMethodsMiddleware
from assay.api.project_errors import describe_failure
from assay.api.routes import (
    auth,
    environments,
    estimates,
    events,
    execution,
    generations,
    health,
    insights,
    metrics,
    projects,
    snapshots,
    suite,
    tests,
    tokens,
    users,
    workers,
    ws,
)
from assay.config import Settings, get_settings
from assay.db.engine import Database
from assay.db.migrate import upgrade
from assay.environments import EnvironmentPool
from assay.errors import AssayError
from assay.events.bus import EventBus
from assay.events.store import install_publisher
from assay.sandbox.tree import run_root_for
from assay.security.throttle import LoginThrottle
from assay.services.generation_jobs import GenerationJobs, recover_interrupted
from assay.services.suite_jobs import SuiteImports, recover_interrupted_imports
from assay.services.users import bootstrap_admin

log = logging.getLogger("assay.server")

STATIC = Path(__file__).resolve().parent.parent / "static" / "dashboard"

PLACEHOLDER = """<!doctype html><html><head><meta charset="utf-8"><title>Assay</title></head>
<body style="font-family: system-ui; max-width: 40em; margin: 4em auto">
<h1>Assay</h1><p>The server is running. The dashboard is not built in this install.</p>
<p>Explore and try the API at <a href="/docs">/docs</a>.</p></body></html>"""


def build_context(settings: Settings) -> AppContext:
    settings.ensure_data_dir()
    settings.sandbox_dir = run_root_for(settings.data_dir, settings.sandbox, settings.sandbox_dir)
    db = Database(settings.resolved_database_url)
    bus = EventBus()
    install_publisher(db.sessionmaker, bus)
    return AppContext(
        settings=settings,
        db=db,
        bus=bus,
        throttle=LoginThrottle(settings.login_max_failures, settings.login_window_seconds),
        pool=EnvironmentPool(settings.envs_dir),
    )


def prepare_database(ctx: AppContext) -> None:
    """Migrate to head and create the first admin: what every start needs, idempotently."""
    upgrade(ctx.settings.resolved_database_url)
    with ctx.db.session() as session:
        bootstrap_admin(session, ctx.settings.data_dir, ctx.settings.admin_password)


def _recover_generations(ctx: AppContext) -> None:
    with ctx.db.session() as session:
        recover_interrupted(session)
        recover_interrupted_imports(session)


def create_app(settings: Settings | None = None, *, orchestrator: bool = True) -> FastAPI:
    settings = settings or get_settings()
    ctx = build_context(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        ctx.bus.bind(asyncio.get_running_loop())
        await asyncio.to_thread(prepare_database, ctx)
        settings.resolved_secret_key()
        stop_scaleout = await scaleout.start(ctx)
        ctx.generations = GenerationJobs(settings, ctx.db, ctx.pool)
        ctx.imports = SuiteImports(ctx.db, ctx.pool, settings, describe_failure)
        await asyncio.to_thread(_recover_generations, ctx)
        if orchestrator:
            from assay.orchestrator.factory import make_supervisor

            ctx.supervisor = make_supervisor(settings, ctx.db, ctx.pool)
            ctx.bus.add_listener(ctx.supervisor.on_event)
            await ctx.supervisor.start()
        try:
            yield
        finally:
            if ctx.supervisor is not None:
                await ctx.supervisor.stop()
                if ctx.supervisor.orchestrator is not None:
                    await ctx.supervisor.orchestrator.executor.close()
            await ctx.generations.close()
            await ctx.imports.close()
            await stop_scaleout()
            ctx.db.dispose()

    app = FastAPI(
        title="Assay",
        version=__version__,
        description="A self-hosted test platform for Python projects.",
        lifespan=lifespan,
    )
    app.state.ctx = ctx
    app.add_exception_handler(AssayError, assay_error)
    app.add_exception_handler(Exception, internal_error)
    app.add_middleware(DeclaredMethodsMiddleware)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials=True,
            allow_methods=["*"],
            allow_headers=["*"],
        )

    api = APIRouter(prefix="/api/v1")
    for module in (
        health,
        auth,
        users,
        tokens,
        projects,
        suite,
        generations,
        tests,
        execution,
        estimates,
        metrics,
        environments,
        snapshots,
        workers,
        insights,
        ws,
        events,
    ):
        api.include_router(module.router)
    api.include_router(environments.project_router)
    app.include_router(api)
    app.include_router(metrics.prometheus)
    _mount_dashboard(app)
    return app


RESERVED = ("api/", "docs", "openapi.json", "redoc")
"""Paths the dashboard never serves: the API's and its documentation's."""


class DashboardRoute(APIRoute):
    """The dashboard's catch-all, blind to reserved paths.

    A GET-only `/{path:path}` that matched `/api/...` too made every other method on
    an unknown API path a 405 (the catch-all "exists" for GET), and a GET to a known
    POST-only API path a 404. Not matching them leaves those paths to the API's own
    routes: 405 when a route serves the path with other methods, else 404.
    """

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child = super().matches(scope)
        if match is not Match.NONE and child["path_params"]["path"].startswith(RESERVED):
            return Match.NONE, {}
        return match, child


def _mount_dashboard(app: FastAPI) -> None:
    """Serve the built dashboard at `/`, with client-side routes falling back to index."""

    async def dashboard(path: str) -> Response:
        index = STATIC / "index.html"
        if not index.exists():
            return HTMLResponse(PLACEHOLDER)
        if path:
            candidate = (STATIC / path).resolve()
            if candidate.is_file() and STATIC.resolve() in candidate.parents:
                return FileResponse(candidate)
        return FileResponse(index, headers={"Cache-Control": "no-cache"})

    app.router.add_api_route(
        "/{path:path}",
        dashboard,
        methods=["GET"],
        include_in_schema=False,
        route_class_override=DashboardRoute,
    )
