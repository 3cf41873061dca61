"""The objects one server process shares between requests, the orchestrator and sockets."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from assay.config import Settings
from assay.db.engine import Database
from assay.environments import EnvironmentPool
from assay.security.throttle import LoginThrottle

if TYPE_CHECKING:
    from assay.events.bus import EventBus
    from assay.orchestrator.supervisor import Supervisor
    from assay.services.generation_jobs import GenerationJobs
    from assay.services.suite_jobs import SuiteImports


@dataclass
class AppContext:
    settings: Settings
    db: Database
    throttle: LoginThrottle
    bus: EventBus
    pool: EnvironmentPool
    supervisor: Supervisor | None = None
    generations: GenerationJobs | None = None
    imports: SuiteImports | None = None
    extras: dict[str, Any] = field(default_factory=dict)
