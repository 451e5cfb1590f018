"""Cross-cutting plumbing every blueprint shares.

Errors, auth and permissions, pagination, request ids and logs, database settings,
CORS, security headers, proxies.
"""
