"""Cross-cutting plumbing every blueprint shares: errors, auth and permissions,
paging policy (cursors, links), conditional requests, idempotency, OpenAPI, request ids and logs,
database settings, CORS, security headers, proxies."""
