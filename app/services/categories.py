"""Categories: editor-managed; a post may belong to one."""

from sqlalchemy import delete, func, select
from sqlalchemy.orm import with_expression

from app.extensions import db
from app.models import Category, Post
from app.services.slugs import add_with_unique_slug


class CategoryNameTaken(Exception):
    pass


def categories_query():
    published = (
        select(func.count())
        .where(Post.category_id == Category.id, Post.status == "published")
        .scalar_subquery()
    )
    return select(Category).options(with_expression(Category.posts_count, published))


def find_category(slug, *, for_update=False):
    query = categories_query().where(Category.slug == slug)
    if for_update:
        query = query.with_for_update(of=Category)
    return db.session.scalar(query.execution_options(populate_existing=True))


def ensure_name_free(name, exclude_id=None):
    query = select(Category.id).where(func.lower(Category.name) == name.lower())
    if exclude_id is not None:
        query = query.where(Category.id != exclude_id)
    if db.session.scalar(query) is not None:
        raise CategoryNameTaken(name)


def create_category(data):
    ensure_name_free(data["name"])
    return add_with_unique_slug(Category(**data), data["name"], "category")


def update_category(category, changes):
    """Rename or redescribe; the slug stays, so links keep working."""
    if "name" in changes:
        ensure_name_free(changes["name"], exclude_id=category.id)
    for name, value in changes.items():
        setattr(category, name, value)
    db.session.flush()
    return category


def delete_category(category):
    """Its posts stay, uncategorised (ON DELETE SET NULL)."""
    result = db.session.execute(
        delete(Category).where(Category.id == category.id, Category.version == category.version)
    )
    return result.rowcount == 1
