"""Persistence: SQLModel tables (only here), the async engine, migrations, housekeeping.

Feature repositories live with their feature (`bot/residents/repository.py` …).
"""
