"""Alembic migrations of the ledger schema (applied automatically on first use)."""
