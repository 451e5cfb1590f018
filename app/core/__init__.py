"""Cross-cutting plumbing every blueprint shares: errors, auth and permissions,
pagination, conditional requests, idempotency, OpenAPI, request ids and logs,
database settings, CORS, security headers, proxies."""
