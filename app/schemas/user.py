"""Users and tokens: registration, login, the own view and the public view."""

from marshmallow import ValidationError, fields, validate, validates_schema

from app.models import ROLES
from app.schemas.base import InputSchema, OutputSchema
from app.schemas.fields import JSONBoolean, UTCDateTime, text

USERNAME = validate.Regexp(r"^[A-Za-z0-9_]{3,32}$", error="3 to 32 letters, digits or underscores.")


def password_field(**kwargs):
    return fields.String(load_only=True, validate=validate.Length(min=8, max=256), **kwargs)


def email_field(**kwargs):
    return fields.Email(validate=validate.Length(max=254), **kwargs)


def image_field():
    return fields.URL(validate=validate.Length(max=500), allow_none=True)


def check_password_differs(password, username, email, field_name):
    lowered = password.lower()
    if lowered in {(username or "").lower(), (email or "").lower()}:
        raise ValidationError("Must differ from the username and email.", field_name)


class RegisterSchema(InputSchema):
    username = fields.String(required=True, validate=USERNAME)
    email = email_field(required=True)
    password = password_field(required=True)
    full_name = text(100, allow_none=True)

    @validates_schema
    def password_differs(self, data, **kwargs):
        if "password" in data:
            check_password_differs(
                data["password"], data.get("username"), data.get("email"), "password"
            )


class LoginSchema(InputSchema):
    login = text(254, min_length=1, required=True, metadata={"description": "Email or username"})
    password = fields.String(required=True, load_only=True, validate=validate.Length(max=256))


class TokenPairSchema(OutputSchema):
    access_token = fields.String(required=True)
    refresh_token = fields.String(required=True)
    token_type = fields.String(required=True, metadata={"example": "Bearer"})
    expires_in = fields.Integer(
        required=True, metadata={"description": "Access token lifetime, seconds"}
    )


class PasswordChangeSchema(InputSchema):
    current_password = fields.String(
        required=True, load_only=True, validate=validate.Length(max=256)
    )
    new_password = password_field(required=True)


class ProfileUpdateSchema(InputSchema):
    """PATCH /auth/me: every field optional; role and is_active are not here on purpose."""

    full_name = text(100, allow_none=True)
    bio = text(2000, allow_none=True)
    image = image_field()
    email = email_field()


class OwnProfileUpdateSchema(ProfileUpdateSchema):
    """PATCH /auth/me: `current_password` proves a recent sign-in for a new email."""

    current_password = fields.String(
        load_only=True,
        validate=validate.Length(max=256),
        metadata={"description": "Needed to change the email with a token that is not fresh"},
    )


class AdminUserUpdateSchema(InputSchema):
    role = fields.String(validate=validate.OneOf(ROLES))
    is_active = JSONBoolean()


class UserListQuerySchema(InputSchema):
    role = fields.String(validate=validate.OneOf(ROLES))
    is_active = fields.Boolean()
    q = text(100, min_length=1, metadata={"description": "Matches username, email or full name"})


class PublicUserSchema(OutputSchema):
    id = fields.Integer(dump_only=True)
    username = fields.String(dump_only=True)
    full_name = fields.String(dump_only=True, allow_none=True)
    bio = fields.String(dump_only=True, allow_none=True)
    image = fields.String(dump_only=True, allow_none=True)
    created_at = UTCDateTime(dump_only=True)
    followers_count = fields.Integer(dump_only=True)
    following_count = fields.Integer(dump_only=True)
    following = fields.Boolean(
        dump_only=True, metadata={"description": "Whether the caller follows them"}
    )


class OwnUserSchema(PublicUserSchema):
    email = fields.String(dump_only=True)
    email_verified = fields.Boolean(
        dump_only=True, metadata={"description": "Whether the email's verification link was used"}
    )
    role = fields.String(dump_only=True)
    is_active = fields.Boolean(dump_only=True)
    updated_at = UTCDateTime(dump_only=True)


class PasswordForgotSchema(InputSchema):
    email = email_field(required=True)


def account_token(**kwargs):
    return fields.String(
        required=True,
        load_only=True,
        validate=validate.Length(min=1, max=128),
        metadata={"description": "The token from the mail's link"},
        **kwargs,
    )


class PasswordResetSchema(InputSchema):
    token = account_token()
    password = password_field(required=True)


class EmailVerifySchema(InputSchema):
    token = account_token()


class AcceptedSchema(OutputSchema):
    detail = fields.String(required=True)
