"""Storage on SQLAlchemy Core: SQLite by default, PostgreSQL to scale out. Rows never leave db/."""
