"""GET /api/health: is this function alive and can it reach the database."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from mangum import Mangum

from shared.config import get_settings
from shared.errors import ServiceUnavailable
from shared.services import health
from shared.web.app import create_app
from shared.web.deps import Db
from shared.web.envelope import Envelope, error_response, ok

router = APIRouter(tags=["health"])


@router.get("/api/health", response_model=Envelope[health.Health])
async def get_health(db: Db) -> Any:
    report = await health.check(db, get_settings())
    if report.status != "healthy":
        # 503 with the report: the body never says success while the status says otherwise.
        return error_response(ServiceUnavailable("The database is unavailable"), data=report.model_dump())
    return ok(report)


app = create_app(router, title="ugig health")
handler = Mangum(app, lifespan="off")
