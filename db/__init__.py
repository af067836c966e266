"""PostgreSQL access: the pool, SQL as named constants, the migration runner, the catalogue seed."""
