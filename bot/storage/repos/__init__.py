"""Repositories: keyword-only async functions over a session, returning rows or values."""
