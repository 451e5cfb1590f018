"""The `<article_slug:...>` path converter: any slug but `feed`.

`/api/articles/feed` is the feed, and `/api/articles/<slug>` would match it
too, for PUT and DELETE. With this converter `feed` never names an article, so
`PUT /api/articles/feed` is 405 and `OPTIONS` lists only GET, as the spec
says. services.slugs never gives a post that slug, so no article is hidden.
"""

from werkzeug.routing import BaseConverter

from app.extensions import api

FEED = "feed"


class ArticleSlugConverter(BaseConverter):
    regex = rf"(?!{FEED}$)[^/]+"


def article_slug_schema(_converter):
    """Said in words, not as `"not": {"const": "feed"}`: a request that breaks a
    documented constraint is expected to get a documented 4xx, and this one gets
    405 (the method is not allowed on the feed's URL)."""
    return {"type": "string", "description": f"An article's slug (never `{FEED}`)."}


def add_converter(state):
    state.app.url_map.converters["article_slug"] = ArticleSlugConverter


# Documents the parameter in this and every later app's spec.
api.register_converter(ArticleSlugConverter, article_slug_schema)
