"""Posts, categories, tags and comments: what comes in, what goes out."""

import re

from marshmallow import ValidationError, fields, post_load, validate

from app.models import POST_STATUSES
from app.schemas import fast_path
from app.schemas.base import InputSchema, OutputSchema
from app.schemas.fields import UTCDateTime, text

MAX_TAGS = 10
MAX_TAG_LENGTH = 32  # the tags.name column
TAG_NAME = re.compile(r"^[^\x00-\x1f,]+$")
TAG_RULE = (
    f"Tags are 1 to {MAX_TAG_LENGTH} characters once lower-cased,"
    " without commas or control characters."
)


def normalised_tag(name):
    return name.strip().lower()


# White space as Python's strip() sees it, for patterns in the spec (ECMA-262's
# `\s` differs: it leaves out \x1c-\x1f and \x85, and counts \ufeff).
SPACE = r"\t\n\v\f\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
# The tag rule for the spec, on the name as sent: white space around 1 to 32
# characters that are neither commas nor control characters (the name is trimmed).
TAG_EDGE = rf"[^{SPACE}\x00-\x1f,]"  # a name's first and last characters
TAG_INNER = rf"[^\x00-\x1f,]{{0,{MAX_TAG_LENGTH - 2}}}"
TAG_NAME_SPEC = {"pattern": rf"^[{SPACE}]*{TAG_EDGE}({TAG_INNER}{TAG_EDGE})?[{SPACE}]*$"}


def tag_name(value):
    """Checked as it will be stored: lower-casing can lengthen a name ("İ" is two
    characters lower-cased), so a 32-character name may not fit the column."""
    normalised = normalised_tag(value)
    if not TAG_NAME.match(normalised) or len(normalised) > MAX_TAG_LENGTH:
        raise ValidationError(TAG_RULE)


class TagList(fields.List):
    """Tag names: trimmed, lower-cased, de-duplicated in order, at most ten."""

    def __init__(self, **kwargs):
        metadata = {"maxItems": MAX_TAGS, **kwargs.pop("metadata", {})}
        super().__init__(
            fields.String(validate=tag_name, metadata=TAG_NAME_SPEC), metadata=metadata, **kwargs
        )

    def _deserialize(self, value, attr, data, **kwargs):
        names = super()._deserialize(value, attr, data, **kwargs)
        # Counted as sent, duplicates too: the rule the spec's maxItems can state.
        if len(names) > MAX_TAGS:
            raise ValidationError(f"At most {MAX_TAGS} tags.")
        return list(dict.fromkeys(normalised_tag(name) for name in names))


class AuthorSchema(OutputSchema):
    """The short form of a user, embedded in posts and comments."""

    id = fields.Integer()
    username = fields.String()
    image = fields.String(allow_none=True)


class CategorySchema(OutputSchema):
    id = fields.Integer(dump_only=True)
    name = fields.String(dump_only=True)
    slug = fields.String(dump_only=True)
    description = fields.String(dump_only=True, allow_none=True)
    posts_count = fields.Integer(dump_only=True, metadata={"description": "Published posts"})


class CategorySummarySchema(OutputSchema):
    id = fields.Integer()
    name = fields.String()
    slug = fields.String()


class CategoryCreateSchema(InputSchema):
    name = text(64, min_length=1, required=True)
    description = text(500, allow_none=True)


class CategoryUpdateSchema(InputSchema):
    name = text(64, min_length=1)
    description = text(500, allow_none=True)


class TagSchema(OutputSchema):
    name = fields.String(dump_only=True)
    posts_count = fields.Integer(
        attribute="published_posts_count",
        dump_only=True,
        metadata={"description": "Published posts"},
    )


# For the spec: a title holds something besides white space (it is trimmed).
NOT_BLANK = {"pattern": rf"[^{SPACE}]"}


class PostCreateSchema(InputSchema):
    title = text(200, min_length=1, required=True, metadata=NOT_BLANK)
    body = text(100_000, min_length=1, required=True)
    summary = text(500, allow_none=True)
    status = fields.String(load_default="draft", validate=validate.OneOf(POST_STATUSES))
    category = fields.String(allow_none=True, validate=validate.Length(max=80))
    tags = TagList()

    @post_load
    def strip_title(self, data, **kwargs):
        if "title" in data:
            data["title"] = data["title"].strip()
            if not data["title"]:
                raise ValidationError("Must not be blank.", "title")
        return data


class PostUpdateSchema(PostCreateSchema):
    """PATCH: the create fields, all optional."""

    title = text(200, min_length=1, metadata=NOT_BLANK)
    body = text(100_000, min_length=1)
    status = fields.String(validate=validate.OneOf(POST_STATUSES))


class PostListItemSchema(OutputSchema):
    fast_dump = staticmethod(fast_path.post_list_item)

    id = fields.Integer()
    slug = fields.String()
    title = fields.String()
    summary = fields.String(allow_none=True)
    status = fields.String()
    category = fields.Nested(CategorySummarySchema, allow_none=True)
    tags = fields.List(fields.String(), attribute="tag_names")
    author = fields.Nested(AuthorSchema)
    favorites_count = fields.Integer()
    favorited = fields.Boolean()
    comments_count = fields.Integer()
    created_at = UTCDateTime()
    updated_at = UTCDateTime()
    published_at = UTCDateTime(allow_none=True)


class PostSchema(PostListItemSchema):
    fast_dump = staticmethod(fast_path.post)

    body = fields.String()


class CommentSchema(OutputSchema):
    id = fields.Integer(dump_only=True)
    body = fields.String(dump_only=True)
    author = fields.Nested(AuthorSchema, dump_only=True)
    post_id = fields.Integer(dump_only=True)
    created_at = UTCDateTime(dump_only=True)
    updated_at = UTCDateTime(dump_only=True)


class CommentWriteSchema(InputSchema):
    body = text(10_000, min_length=1, required=True)
