"""Cross-cutting plumbing every blueprint shares: errors, auth and permissions,
pagination, request ids and logs, database settings."""
