"""All models, imported here so `Base.metadata` knows every table."""

from assay.db.models.event import Event
from assay.db.models.execution import ExecutionPlan, TestRun
from assay.db.models.generation import Generation, GenerationCandidate
from assay.db.models.project import Project
from assay.db.models.test_case import TestCase, TestCaseTag
from assay.db.models.user import ApiToken, User
from assay.vocabulary import (
    Origin,
    PlanStatus,
    Priority,
    Role,
    RunStatus,
    TestStatus,
    Trigger,
)

__all__ = [
    "ApiToken",
    "Event",
    "ExecutionPlan",
    "Generation",
    "GenerationCandidate",
    "Origin",
    "PlanStatus",
    "Priority",
    "Project",
    "Role",
    "RunStatus",
    "TestCase",
    "TestCaseTag",
    "TestRun",
    "TestStatus",
    "Trigger",
    "User",
]
