"""The orchestrator: claims queued plans, runs their jobs on an executor, records results."""
