"""Cross-cutting plumbing every blueprint shares: errors, request ids and logs, database settings."""
