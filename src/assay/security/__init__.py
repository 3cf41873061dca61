"""Credentials: password hashing, access tokens (JWT), API tokens and login throttling."""
