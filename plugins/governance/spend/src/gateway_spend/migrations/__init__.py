"""Alembic revisions of the spend ledger (run by ``gateway db upgrade`` and at start-up)."""
