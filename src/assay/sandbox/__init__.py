"""Run untrusted code (tests, generated candidates) contained and bounded.

No database or API imports here: Celery workers on other machines use this
package and hold no credentials.
"""

from assay.sandbox.identity import NOBODY, SandboxPathError
from assay.sandbox.isolation import SandboxUnavailable, resolve_isolation
from assay.sandbox.limits import Limits
from assay.sandbox.process import REPORT_FD, SandboxResult, run_sandboxed

__all__ = [
    "NOBODY",
    "REPORT_FD",
    "Limits",
    "SandboxPathError",
    "SandboxResult",
    "SandboxUnavailable",
    "resolve_isolation",
    "run_sandboxed",
]
