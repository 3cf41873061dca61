"""What crosses a process: one typed, versioned model for every message.

Assay is several processes that talk in JSON: the API and the dashboard, the
orchestrator and its Celery workers (job specs and replies over the broker and a
Redis stream), the server and the generation probe, the runner and the pytest
plugin inside the sandbox, the server and a WebSocket client. Each message has its
pydantic model here, and both ends use it: a producer builds the model (a typo is a
type error, not a silently missing field) and a consumer validates what it reads (a
malformed message is rejected at the edge, with the field that was wrong).

The sandboxed ends (the pytest plugin, the probe) run in the project's interpreter,
where Assay and pydantic are not installed: they write plain JSON, and the models
here are what the server-side reader checks those lines against.

`VERSION` is carried by job specs and replies, the messages that cross machines
whose Assay versions may differ during a rolling upgrade: a worker refuses a spec of
a version it does not know instead of misreading it.
"""

from assay.contracts.base import VERSION, Contract

__all__ = ["VERSION", "Contract"]
