"""Local development tooling: the embedded PostgreSQL cluster, migrations and the `ugig` CLI."""
