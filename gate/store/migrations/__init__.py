"""Alembic migrations of the store, shipped in the package and run by `gate.store.migrate`
(no alembic.ini): `env.py` takes the connection the store hands it, `versions/` holds one
file per revision (`rNNNN_what.py`, revision id "NNNN", written by hand against
`gate/store/tables.py`; tests/store/test_migrations.py checks that the two agree)."""
