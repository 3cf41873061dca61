"""Events: every state change, appended to a numbered log and delivered live."""
