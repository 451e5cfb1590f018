"""Conduit articles: published posts, listed, read, written and favourited.

A Conduit article is a published Folio post: creating one publishes it, and a
draft (written through /api/v1) is not found here, not even by its author.
Slugs keep Folio's rule and stay stable when the title changes, so links
made by either blueprint keep working.
"""

from flask_jwt_extended import current_user
from werkzeug.exceptions import NotFound

from app.conduit import blp
from app.conduit.lookup import article_or_404, article_to_change_or_404
from app.conduit.schemas import (
    ConduitArticleListArgsSchema,
    ConduitArticleListResponseSchema,
    ConduitArticleResponseSchema,
    ConduitArticleUpdateRequestSchema,
    ConduitFeedArgsSchema,
    ConduitNewArticleRequestSchema,
)
from app.core.conditional import conditional_list
from app.core.openapi import problems
from app.core.permissions import auth_optional, auth_required, ensure_can_modify, viewer
from app.extensions import db
from app.services import posts


def article(post):
    return {"article": post}


def committed_article(post):
    """The article as this request's writes leave it, read before they commit (see
    `posts.reload`), then the commit; 404 with nothing written when it is gone."""
    answer = posts.reload(post, current_user, profiles=True)
    if answer is None:
        raise NotFound("No such article.")
    db.session.commit()
    return article(answer)


def article_page(rows, args):
    """Conduit's page: `limit` rows from `offset`, with the count of every match."""
    page, total = rows.window(args["offset"], args["limit"])
    return {"articles": page, "articles_count": total}


@blp.route("/articles")
@auth_optional
@blp.arguments(ConduitArticleListArgsSchema, location="query", as_kwargs=False)
@conditional_list
@blp.response(200, ConduitArticleListResponseSchema)
def list_articles(args):
    """Published articles, newest first, by tag, author or a user's favourites."""
    filters = {"tag": args.get("tag"), "author": args.get("author")}
    filters["favorited_by"] = args.get("favorited")
    return article_page(posts.article_listing(viewer(), **filters), args)


@blp.route("/articles/feed")
@auth_required()
@blp.arguments(ConduitFeedArgsSchema, location="query", as_kwargs=False)
@conditional_list
@blp.response(200, ConduitArticleListResponseSchema)
def feed(args):
    """Published articles by the users the caller follows, newest first."""
    return article_page(posts.feed_listing(current_user, profiles=True), args)


@blp.route("/articles", methods=["POST"])
@auth_required()
@blp.arguments(ConduitNewArticleRequestSchema)
@blp.response(201, ConduitArticleResponseSchema)
def create_article(data):
    """Write and publish an article."""
    post = posts.create_post(current_user, {**data["article"], "status": "published"})
    return committed_article(post)


@blp.route("/articles/<article_slug:slug>")
@auth_optional
@blp.response(200, ConduitArticleResponseSchema)
def get_article(slug):
    """An article by its slug."""
    user = viewer()
    return article(article_or_404(slug, user))


@blp.route("/articles/<article_slug:slug>", methods=["PUT"])
@auth_required()
@blp.arguments(ConduitArticleUpdateRequestSchema)
@blp.response(200, ConduitArticleResponseSchema)
@problems(403)
def update_article(data, slug):
    """Edit an article (its author or an editor); the slug stays as it was."""
    post = article_to_change_or_404(slug, current_user)
    ensure_can_modify(current_user, post.author_id)
    posts.update_post(post, data["article"])
    return committed_article(post)


@blp.route("/articles/<article_slug:slug>", methods=["DELETE"])
@auth_required()
@blp.response(204)
@problems(403)
def delete_article(slug):
    """Delete an article with its comments and favourites (its author or an editor)."""
    post = article_to_change_or_404(slug, current_user)
    ensure_can_modify(current_user, post.author_id)
    posts.delete_post(post)
    db.session.commit()


@blp.route("/articles/<article_slug:slug>/favorite", methods=["POST"])
@auth_required()
@blp.response(200, ConduitArticleResponseSchema)
def favorite(slug):
    """Favourite an article; doing it again changes nothing."""
    post = article_or_404(slug, current_user)
    if not posts.favorite(current_user, post):
        raise NotFound("No such article.")
    return committed_article(post)


@blp.route("/articles/<article_slug:slug>/favorite", methods=["DELETE"])
@auth_required()
@blp.response(200, ConduitArticleResponseSchema)
def unfavorite(slug):
    """Take a favourite back; doing it again changes nothing."""
    post = article_or_404(slug, current_user)
    posts.unfavorite(current_user, post)
    return committed_article(post)
