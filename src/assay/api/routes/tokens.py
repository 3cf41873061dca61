"""API tokens for CI and scripts: each user manages their own."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, status
from sqlalchemy import select

from assay.api.deps import CurrentUser, DbSession
from assay.api.errors import AUTH, BODY, errors, not_found
from assay.api.schemas.auth import ApiTokenCreate, ApiTokenCreated, ApiTokenOut
from assay.db.models import ApiToken
from assay.security import api_tokens

router = APIRouter(prefix="/tokens", tags=["tokens"])


@router.post(
    "",
    response_model=ApiTokenCreated,
    status_code=status.HTTP_201_CREATED,
    responses=errors(*AUTH, *BODY),
)
def create_token(body: ApiTokenCreate, user: CurrentUser, session: DbSession) -> ApiTokenCreated:
    """Create a token; the response is the only time the token itself is shown."""
    secret = api_tokens.generate()
    expires = (
        datetime.now(UTC) + timedelta(days=body.expires_in_days) if body.expires_in_days else None
    )
    row = ApiToken(
        user_id=user.id,
        name=body.name,
        prefix=secret[:12],
        token_hash=api_tokens.digest(secret),
        expires_at=expires,
    )
    session.add(row)
    session.flush()
    return ApiTokenCreated(**ApiTokenOut.model_validate(row).model_dump(), token=secret)


@router.get("", response_model=list[ApiTokenOut], responses=errors(*AUTH))
def list_tokens(user: CurrentUser, session: DbSession) -> list[ApiToken]:
    return list(
        session.scalars(
            select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.created_at)
        )
    )


@router.delete(
    "/{token_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=errors(*AUTH, 422, {404: "No such token of yours."}),
)
def revoke_token(token_id: str, user: CurrentUser, session: DbSession) -> None:
    row = session.get(ApiToken, token_id)
    if row is None or row.user_id != user.id:
        raise not_found("token", token_id)
    if row.revoked_at is None:
        row.revoked_at = datetime.now(UTC)
