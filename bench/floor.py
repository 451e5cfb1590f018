"""The reference floor: the least a Python WSGI app can do to serve Folio's JSON.

A hand-written WSGI callable, psycopg 3, one SQL statement per request, orjson.
No framework, no ORM, no schema layer, no auth, no logging, no metrics. It reads
Folio's own tables and answers the same shapes as `GET /api/v1/posts` (first
page, cursor mode) and `GET /api/v1/posts/<id>`, so Folio's figure divided by
this one says what Folio's layers cost on this machine, in the same run.

Run: `FLOOR_DATABASE_URL=postgresql://... gunicorn -w 2 bench.floor:app`.
"""

import os

import orjson
import psycopg

LIST_COLUMNS = """
    p.id, p.slug, p.title, p.summary, p.status,
    json_build_object('id', c.id, 'name', c.name, 'slug', c.slug) AS category, c.id AS category_id,
    coalesce((SELECT array_agg(t.name ORDER BY t.name) FROM post_tags pt
              JOIN tags t ON t.id = pt.tag_id WHERE pt.post_id = p.id), '{}') AS tags,
    json_build_object('id', u.id, 'username', u.username, 'image', u.image) AS author,
    (SELECT count(*) FROM favorites f WHERE f.post_id = p.id) AS favorites_count,
    false AS favorited,
    (SELECT count(*) FROM comments m WHERE m.post_id = p.id) AS comments_count,
    to_char(p.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS created_at,
    to_char(p.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS updated_at,
    to_char(p.published_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS published_at
"""
FROM = """
    FROM posts p JOIN users u ON u.id = p.author_id
    LEFT JOIN categories c ON c.id = p.category_id
"""
LIST_SQL = f"""SELECT {LIST_COLUMNS} {FROM} WHERE p.status = 'published'
    ORDER BY p.published_at DESC, p.id DESC LIMIT 21"""
POST_SQL = f"SELECT {LIST_COLUMNS}, p.body {FROM} WHERE p.id = %s AND p.status = 'published'"

_connection = None


def connection():
    """One connection per worker process, opened on first use (after the fork)."""
    global _connection
    if _connection is None or _connection.closed:
        _connection = psycopg.connect(os.environ["FLOOR_DATABASE_URL"], autocommit=True)
    return _connection


def item(row, names):
    post = dict(zip(names, row, strict=True))
    if post.pop("category_id") is None:
        post["category"] = None
    return post


def fetch(sql, params=()):
    with connection().cursor() as cursor:
        cursor.execute(sql, params, prepare=True)
        names = [column.name for column in cursor.description]
        return [item(row, names) for row in cursor.fetchall()]


def posts_page():
    rows = fetch(LIST_SQL)
    items, more = rows[:20], len(rows) > 20
    cursor = f"{items[-1]['published_at']}.{items[-1]['id']}" if more else None
    return 200, {"items": items, "meta": {"per_page": 20, "next_cursor": cursor}}


def one_post(post_id):
    rows = fetch(POST_SQL, (post_id,)) if post_id.isdigit() else []
    if not rows:
        return 404, {"title": "Not Found", "status": 404}
    return 200, rows[0]


def app(environ, start_response):
    path = environ["PATH_INFO"].rstrip("/")
    if path == "/api/v1/posts":
        status, body = posts_page()
    elif path.startswith("/api/v1/posts/"):
        status, body = one_post(path.rsplit("/", 1)[1])
    else:
        status, body = 404, {"title": "Not Found", "status": 404}
    payload = orjson.dumps(body)
    start_response(
        "200 OK" if status == 200 else "404 Not Found",
        [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))],
    )
    return [payload]
