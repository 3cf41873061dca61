"""AI test generation: start one (202), follow it, and list a project's symbols."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Query, status
from sqlalchemy import select

from assay.api.deps import Ctx, DbSession, Editor, Viewer
from assay.api.errors import BODY, PROJECT_WORK, ROLE, errors, field_error, not_found
from assay.api.pagination import Page, PageDep, paginate
from assay.api.project_errors import answering_project_failures
from assay.api.routes.projects import get_project
from assay.api.schemas.generations import (
    MAX_INPUT,
    CandidateOut,
    GenerateAccepted,
    GenerateRequest,
    GenerationOut,
    SymbolOut,
    SymbolsOut,
)
from assay.db.models import Generation
from assay.errors import TooLarge
from assay.generation.diff import repository_prefix
from assay.generation.model import GenerationRequest
from assay.generation.symbols import list_symbols
from assay.generation.targets import validate_request
from assay.services.generation_jobs import llm_config
from assay.services.source import current_tree

router = APIRouter(tags=["generation"])


def _generation_out(gen: Generation) -> GenerationOut:
    out = GenerationOut.model_validate(gen, from_attributes=True)
    out.candidates = [CandidateOut.model_validate(c) for c in gen.candidates]
    out.accepted = sum(1 for c in gen.candidates if c.verdict == "accepted")
    out.request = {k: v for k, v in gen.request.items() if k not in ("diff", "source")} | {
        "diff_bytes": len(gen.request.get("diff") or ""),
        "source_bytes": len(gen.request.get("source") or ""),
    }
    return out


@router.post(
    "/tests/generate",
    response_model=GenerateAccepted,
    status_code=status.HTTP_202_ACCEPTED,
    responses=errors(
        *ROLE, *BODY, PROJECT_WORK,
        {404: "No such project.",
         413: "The body, or its `diff` or `source`, is larger than the server accepts.",
         422: "The request is invalid, names a target the project does not have, or the "
              "project's source cannot be read."},
    ),
)
async def start_generation(body: GenerateRequest, user: Editor, ctx: Ctx) -> GenerateAccepted:
    """Validate the input now (422 says what to fix), then generate in the background.

    Progress arrives as `generation.*` events on the WebSocket; accepted tests become
    test cases (origin `ai`) and, with `auto_execute`, run in a new plan.
    """
    for field in ("diff", "source"):
        value = getattr(body, field)
        if value is not None and len(value.encode()) > MAX_INPUT:
            raise TooLarge(
                f"{field} is larger than {MAX_INPUT // 1024} KiB; "
                "send a smaller change or one module"
            )
    if body.engine == "llm" and llm_config(ctx.settings) is None:
        raise field_error(
            "engine",
            "no LLM is configured on this server: set ASSAY_LLM_MODEL "
            "and ASSAY_LLM_BASE_URL or ASSAY_LLM_API_KEY, or use engine 'builtin'",
        )
    request = GenerationRequest(
        mode=body.mode,
        diff=body.diff,
        target=body.target,
        source=body.source,
        engine=body.engine,
        max_tests=body.max_tests,
    )

    def check_and_create() -> str:
        with ctx.db.session() as session:
            project = get_project(session, body.project_id)
            source = dict(project.source)
            with answering_project_failures(source.get("path")):
                tree = current_tree(source, ctx.settings.data_dir.resolve() / "git")
            if source["type"] == "path":  # a git source's checkout is its repository's root
                request.repository_prefix = repository_prefix(tree)
            validate_request(request, tree)  # a GenerationInputError is a 422 at its field
            gen = Generation(
                project_id=project.id,
                mode=body.mode,
                engine=body.engine,
                status="queued",
                request=body.model_dump(exclude={"project_id"})
                | {"repository_prefix": request.repository_prefix},
                created_by=user.id,
            )
            session.add(gen)
            session.flush()
            return gen.id

    generation_id = await asyncio.to_thread(check_and_create)
    assert ctx.generations is not None
    ctx.generations.start(generation_id)
    return GenerateAccepted(generation_id=generation_id, status="queued")


@router.get("/generations", response_model=Page[GenerationOut], responses=errors(*ROLE, 422))
def list_generations(
    _: Viewer,
    session: DbSession,
    page: PageDep,
    project_id: str | None = Query(None, max_length=32),
) -> Page[GenerationOut]:
    stmt = select(Generation)
    if project_id:
        stmt = stmt.where(Generation.project_id == project_id)
    return paginate(
        session, stmt, page, Generation.created_at, Generation.id, True,
        lambda rows: [_generation_out(g) for g in rows],
    )


@router.get(
    "/generations/{generation_id}",
    response_model=GenerationOut,
    responses=errors(*ROLE, 422, {404: "No such generation."}),
)
def read_generation(generation_id: str, _: Viewer, session: DbSession) -> GenerationOut:
    gen = session.get(Generation, generation_id)
    if gen is None:
        raise not_found("generation", generation_id)
    return _generation_out(gen)


@router.get(
    "/projects/{project_id}/symbols",
    response_model=SymbolsOut,
    responses=errors(*ROLE, PROJECT_WORK, {404: "No such project."}),
)
def project_symbols(
    project_id: str,
    _: Viewer,
    session: DbSession,
    ctx: Ctx,
    q: str = Query("", max_length=200),
    limit: int = Query(50, ge=1, le=500),
) -> SymbolsOut:
    """Functions and methods of the project (read with `ast`, never imported)."""
    source = dict(get_project(session, project_id).source)
    with answering_project_failures(source.get("path")):
        tree = current_tree(source, ctx.settings.data_dir.resolve() / "git")
    symbols = list_symbols(tree, q, limit)
    items = [
        SymbolOut(
            target=s.qualified,
            name=s.name,
            module=s.module,
            qualname=s.qualname,
            kind=s.kind,
            signature=s.signature,
            file=s.file,
            line_start=s.line_start,
            line_end=s.line_end,
        )
        for s in symbols
    ]
    return SymbolsOut(items=items, total=len(items))
