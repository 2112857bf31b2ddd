"""Alembic migrations of the store (env.py and versions/); run by tracker.store.migrate, never by hand."""
