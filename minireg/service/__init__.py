"""The service behind the API and the CLI: one Registry, one write path, one read cache."""
