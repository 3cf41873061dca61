"""Per-project Python environments: built once from the project's requirements, cached
by what defines them, leased to one job at a time. No database: state is a JSON
file per environment, coordination is file locks.
"""

from assay.environments.builder import EnvironmentBuildError
from assay.environments.pool import Environment, EnvironmentInfo, EnvironmentPool
from assay.environments.spec import EnvSpec, spec_for_project

__all__ = [
    "EnvSpec",
    "Environment",
    "EnvironmentBuildError",
    "EnvironmentInfo",
    "EnvironmentPool",
    "spec_for_project",
]
