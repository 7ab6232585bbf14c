"""Storage: the database connection, column types and Alembic migrations. Tables live with their domain."""
