"""marshmallow schemas of what the service takes in and gives out."""

from __future__ import annotations

from marshmallow import ValidationError, validate


class Whole(validate.Regexp):
    """``validate.Regexp`` over the whole value: ``re.match`` lets ``$`` match before a final
    newline, so ``"created\n"`` passed ``^(created)$``. The pattern stays as written for
    the OpenAPI document."""

    def __call__(self, value: str | bytes) -> str | bytes:
        if self.regex.fullmatch(value) is None:
            raise ValidationError(self._format_error(value))
        return value
