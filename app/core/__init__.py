"""Cross-cutting plumbing every blueprint shares.

Errors, request ids and logs, database settings, CORS, security headers, proxies.
"""
