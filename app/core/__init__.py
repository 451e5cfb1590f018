"""Cross-cutting plumbing every blueprint shares: errors, request ids, logs, spec, database."""
