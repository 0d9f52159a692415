"""The revisions, oldest first (Alembic reads them by path; this file makes them a package)."""
