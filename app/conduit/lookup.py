"""Finding articles and comments as Conduit sees them, with their authors' profiles.

Conduit embeds each author as a profile with `following` (does the caller
follow them?). Articles come with their authors' profiles in the same query
(`posts.posts_query(..., profiles=True)`); comments load their authors, and one
more query (`users.reload_all`) fills in the flags of every author on the page
at once, so a page of 5 or 50 costs the same number of statements.
"""

from werkzeug.exceptions import NotFound

from app.services import comments, posts, users


def comments_shown(items, user):
    """Comments, their (ORM) authors' flags filled in place as `user` sees them."""
    users.reload_all([item.author for item in items], user)
    return items


def article_or_404(slug, user):
    """The published post with this slug (not a draft, and not looked up by id), as
    a read row with its author's profile."""
    return published_article(posts.read_post(slug, user, profiles=True), slug)


def article_to_change_or_404(slug, user):
    """The same article as an ORM Post, locked, for a view that changes or deletes it."""
    return published_article(posts.post_to_change(slug, user), slug)


def published_article(post, slug):
    if post is None or post.slug != slug or post.status != "published":
        raise NotFound("No such article.")
    return post


def comment_or_404(article, comment_id, user):
    """A comment on `article`, by id; a comment on another article is not found."""
    comment = comments.find_comment(comment_id, user, for_update=True)
    if comment is None or comment.post_id != article.id:
        raise NotFound("No such comment.")
    return comment
