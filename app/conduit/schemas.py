"""Conduit's shapes (the RealWorld spec), over the same models as /api/v1.

Every body is wrapped in a named envelope (`{"user": ...}`, `{"article": ...}`)
and keys are camelCase. An article is a published post: `description` is its
summary and `tagList` its tags. Input schemas extend Folio's own, so both
blueprints accept the same usernames, passwords, tag names and lengths.

Class names start with `Conduit`: they become component names in the one
OpenAPI document, beside /api/v1's `Post` or `Comment`.
"""

from marshmallow import Schema, fields, pre_load, validate

from app.schemas import fast_path
from app.schemas.base import InputSchema, OutputSchema
from app.schemas.fields import UTCDateTime, text
from app.schemas.pagination import MAX_PER_PAGE
from app.schemas.post import (
    CommentWriteSchema,
    PostCreateSchema,
    PostUpdateSchema,
    TagList,
    TagSchema,
)
from app.schemas.user import (
    USERNAME,
    LoginSchema,
    ProfileUpdateSchema,
    RegisterSchema,
    password_field,
)

MAX_OFFSET = 10_000_000


def timestamp(attribute, data_key):
    """Always with milliseconds: Conduit clients (and its official tests) expect a fraction."""
    return UTCDateTime(
        attribute=attribute, data_key=data_key, required=True, timespec="milliseconds"
    )


def envelope(name, member, schema):
    """A body of one member, `{member: <schema>}`: Conduit wraps every request and
    response this way. `name` is the class name, and so the spec's component name."""
    return type(f"{name}Schema", (Schema,), {member: fields.Nested(schema, required=True)})


class NeverNull(fields.String):
    """A string that is never null: Conduit's spec types `description` as a plain string."""

    def _serialize(self, value, attr, obj, **kwargs):
        return super()._serialize(value or "", attr, obj, **kwargs)


# Requests


class ConduitNewUserSchema(RegisterSchema):
    class Meta:
        exclude = ("full_name",)


class ConduitLoginSchema(LoginSchema):
    login = text(254, min_length=1, required=True, data_key="email")


class ConduitUserUpdateSchema(ProfileUpdateSchema):
    username = fields.String(validate=USERNAME)
    password = password_field()

    class Meta:
        exclude = ("full_name",)

    @pre_load
    def blank_means_none(self, data, **kwargs):
        """RealWorld frontends send every settings field, "" for those left empty:
        that is no new password, and no image (rather than an invalid URL)."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        if data.get("password") == "":
            del data["password"]
        if data.get("image") == "":
            data["image"] = None
        return data


class ConduitNewArticleSchema(PostCreateSchema):
    summary = text(500, min_length=1, required=True, data_key="description")
    tags = TagList(data_key="tagList")

    class Meta:
        exclude = ("status", "category")


class ConduitArticleUpdateSchema(PostUpdateSchema):
    summary = text(500, min_length=1, data_key="description")
    tags = TagList(data_key="tagList")

    class Meta:
        exclude = ("status", "category")


ConduitNewUserRequestSchema = envelope("ConduitNewUserRequest", "user", ConduitNewUserSchema)
ConduitLoginRequestSchema = envelope("ConduitLoginRequest", "user", ConduitLoginSchema)
ConduitUserUpdateRequestSchema = envelope(
    "ConduitUserUpdateRequest", "user", ConduitUserUpdateSchema
)
ConduitNewArticleRequestSchema = envelope(
    "ConduitNewArticleRequest", "article", ConduitNewArticleSchema
)
ConduitArticleUpdateRequestSchema = envelope(
    "ConduitArticleUpdateRequest", "article", ConduitArticleUpdateSchema
)
ConduitNewCommentRequestSchema = envelope("ConduitNewCommentRequest", "comment", CommentWriteSchema)


class ConduitFeedArgsSchema(InputSchema):
    limit = fields.Integer(load_default=20, validate=validate.Range(1, MAX_PER_PAGE))
    offset = fields.Integer(load_default=0, validate=validate.Range(0, MAX_OFFSET))


class ConduitArticleListArgsSchema(ConduitFeedArgsSchema):
    tag = text(32, min_length=1)
    author = text(32, min_length=1, metadata={"description": "Author's username"})
    favorited = text(32, min_length=1, metadata={"description": "Username of a fan"})


# Responses


class ConduitProfileSchema(OutputSchema):
    username = fields.String(required=True)
    bio = fields.String(required=True, allow_none=True)
    image = fields.String(required=True, allow_none=True)
    following = fields.Boolean(
        required=True, metadata={"description": "Whether the caller follows them"}
    )


class ConduitUserSchema(OutputSchema):
    """The signed-in user: dumped from `{"account": user, "token": access_token}`."""

    email = fields.String(required=True, attribute="account.email")
    token = fields.String(required=True, metadata={"description": "A Folio access token"})
    username = fields.String(required=True, attribute="account.username")
    bio = fields.String(required=True, allow_none=True, attribute="account.bio")
    image = fields.String(required=True, allow_none=True, attribute="account.image")


class ConduitArticleListItemSchema(OutputSchema):
    fast_dump = staticmethod(fast_path.conduit_article_list_item)

    slug = fields.String(required=True)
    title = fields.String(required=True)
    description = NeverNull(required=True, attribute="summary")
    tag_list = fields.List(
        fields.String(), required=True, attribute="tag_names", data_key="tagList"
    )
    created_at = timestamp("created_at", "createdAt")
    updated_at = timestamp("updated_at", "updatedAt")
    favorited = fields.Boolean(required=True)
    favorites_count = fields.Integer(required=True, data_key="favoritesCount")
    author = fields.Nested(ConduitProfileSchema, required=True)


class ConduitArticleSchema(ConduitArticleListItemSchema):
    fast_dump = staticmethod(fast_path.conduit_article)

    body = fields.String(required=True)


class ConduitCommentSchema(OutputSchema):
    id = fields.Integer(required=True)
    created_at = timestamp("created_at", "createdAt")
    updated_at = timestamp("updated_at", "updatedAt")
    body = fields.String(required=True)
    author = fields.Nested(ConduitProfileSchema, required=True)


ConduitUserResponseSchema = envelope("ConduitUserResponse", "user", ConduitUserSchema)
ConduitProfileResponseSchema = envelope("ConduitProfileResponse", "profile", ConduitProfileSchema)
ConduitArticleResponseSchema = envelope("ConduitArticleResponse", "article", ConduitArticleSchema)
ConduitCommentResponseSchema = envelope("ConduitCommentResponse", "comment", ConduitCommentSchema)


class ConduitArticleListResponseSchema(OutputSchema):
    articles = fields.List(fields.Nested(ConduitArticleListItemSchema), required=True)
    articles_count = fields.Integer(
        required=True,
        data_key="articlesCount",
        metadata={"description": "Articles matching the filters, on every page together"},
    )


class ConduitCommentListResponseSchema(OutputSchema):
    comments = fields.List(fields.Nested(ConduitCommentSchema), required=True)


class ConduitTagListResponseSchema(OutputSchema):
    tags = fields.Pluck(TagSchema, "name", many=True, required=True)


class ConduitErrorsSchema(OutputSchema):
    """Conduit's error body: messages by field, or under `body` for the request as a whole."""

    errors = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        required=True,
        metadata={"example": {"body": ["can't be empty"]}},
    )
