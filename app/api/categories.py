"""Categories: anyone reads them, editors manage them."""

from flask import url_for
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import Conflict, NotFound

from app.api import blp
from app.api.idempotency import idempotent_create
from app.core.conditional import (
    cacheable,
    check_if_match,
    conditional_list,
    etagged,
    if_match,
    versioned,
)
from app.core.paging import paginate
from app.core.permissions import auth_required
from app.extensions import db
from app.models import Category
from app.schemas.pagination import PaginationArgs, page_of, sort_field
from app.schemas.post import CategoryCreateSchema, CategorySchema, CategoryUpdateSchema
from app.services import categories
from app.services.listing import Listing

CATEGORY_SORTS = {"name": Category.name, "created_at": Category.created_at}


class CategoryListArgs(PaginationArgs):
    sort = sort_field(CATEGORY_SORTS, "name")


def category_or_404(slug, *, for_update=False):
    category = categories.find_category(slug, for_update=for_update)
    if category is None:
        raise NotFound("No such category.")
    return category


def name_taken(error):
    return Conflict(f"A category named {error} already exists.")


@blp.route("/categories")
@blp.arguments(CategoryListArgs, location="query", as_kwargs=False)
@conditional_list
@blp.response(200, page_of(CategorySchema))
def list_categories(args):
    """Categories with their counts of published posts."""
    return paginate(Listing(categories.categories_query(), Category.id, CATEGORY_SORTS), args)


@blp.route("/categories", methods=["POST"])
@auth_required("editor")
@idempotent_create
@blp.arguments(CategoryCreateSchema)
@blp.response(201, CategorySchema, headers={"Location": "Location"})
def create_category(data):
    """Create a category (editors); its slug comes from the name."""
    try:
        category = categories.create_category(data)
    except categories.CategoryNameTaken as error:
        raise name_taken(error) from None
    location = url_for("api.get_category", slug=category.slug, _external=True)
    return categories.find_category(category.slug), 201, {"Location": location}


@blp.route("/categories/<slug>")
@cacheable
@blp.response(200, CategorySchema)
def get_category(slug):
    """Read a category."""
    return versioned(category_or_404(slug))


@blp.route("/categories/<slug>", methods=["PATCH"])
@auth_required("editor")
@if_match
@etagged
@blp.arguments(CategoryUpdateSchema)
@blp.response(200, CategorySchema)
def update_category(changes, slug):
    """Rename or redescribe a category (editors); the slug stays."""
    category = category_or_404(slug, for_update=True)
    check_if_match(category)
    try:
        categories.update_category(category, changes)
    except categories.CategoryNameTaken as error:
        raise name_taken(error) from None
    db.session.commit()
    return versioned(categories.find_category(slug))


@blp.route("/categories/<slug>", methods=["DELETE"])
@auth_required("editor")
@if_match
@blp.response(204)
def delete_category(slug):
    """Delete a category (editors); its posts become uncategorised."""
    category = category_or_404(slug, for_update=True)
    check_if_match(category)
    if not categories.delete_category(category):
        raise StaleDataError("category changed concurrently")
    db.session.commit()
