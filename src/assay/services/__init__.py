"""Domain operations shared by the API, the CLI and the orchestrator."""
