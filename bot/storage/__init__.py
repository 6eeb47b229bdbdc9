"""Persistence: SQLModel tables (only here), the async engine, repositories, migrations."""
