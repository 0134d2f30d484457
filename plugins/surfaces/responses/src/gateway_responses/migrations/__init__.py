"""Alembic revisions of the stored responses (run by ``gateway db upgrade`` and at start-up)."""
