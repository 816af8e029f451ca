"""The runtime: settings, database, catalog, records, publishing and schema migration."""
