"""Database constraints that reach a form speak on the field they are about.

Each check constraint carries a plain message and a code (`violation_error_message`,
`violation_error_code`); Django reports a violated check on the whole form. A model
that mixes in `ConstraintErrorsOnFields` names, by code, the field each one is about,
so the message stands next to that field in every form and in `full_clean`.
"""

from __future__ import annotations

from typing import ClassVar

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError


class ConstraintErrorsOnFields:
    #: violation_error_code → the field the message belongs to.
    CONSTRAINT_FIELDS: ClassVar[dict[str, str]] = {}

    def validate_constraints(self, exclude: object = None) -> None:
        try:
            super().validate_constraints(exclude=exclude)  # type: ignore[misc]
        except ValidationError as error:
            raise errors_on_fields(error, self.CONSTRAINT_FIELDS) from None


def errors_on_fields(error: ValidationError, fields: dict[str, str]) -> ValidationError:
    """`error` with each non-field error whose code `fields` names moved to that field."""
    by_field: dict[str, list[ValidationError]] = {}
    for name, errors in error.error_dict.items() if hasattr(error, "error_dict") else [(NON_FIELD_ERRORS, [error])]:
        for item in errors:
            target = fields.get(item.code or "", name) if name == NON_FIELD_ERRORS else name
            by_field.setdefault(target, []).append(item)
    return ValidationError(by_field)
