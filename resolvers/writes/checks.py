"""Input checks for commands: every problem found at once, each with its field path.

Paths name the command input's own fields in domain terms (``("lines", 2,
"quantity")``); the schema layer maps them to the GraphQL input's names."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Literal, overload

from email_validator import EmailNotValidError, validate_email

from app.errors import BizgraphError, CommandError, Rejected

Path = Sequence[str | int]

# NUMERIC(14,2): twelve digits before the point.
MAX_MONEY = Decimal("999999999999.99")
MAX_QUANTITY = 1_000_000


def path_of(path: Path) -> list[str]:
    return [str(part) for part in path]


def label(path: Path) -> str:
    """The field a message speaks of, for people: ``unit_price`` → "unit price"."""
    return str(path[-1]).replace("_", " ") if path else "input"


class Checks:
    """Collects the problems with one command's input; ``done`` raises them together.

    Each check returns the value as the command stores it (trimmed, normalized,
    rounded), or ``None`` when there is none. A check that finds a problem records
    it and still returns (``None``, or the value as given). The contract: a
    command uses the checked values only after ``done()``, which raises when any
    problem was recorded. That is why a *required* value is typed as present
    (``money(..., required=True)`` is a ``Decimal``): the only ``None`` such a
    check returns comes with a recorded problem, so ``done()`` never lets it through.
    A caller that looks at values before ``done()`` (order lines are priced while
    their problems are collected) keeps them as optional (``LineRequest``).
    """

    def __init__(self) -> None:
        self.errors: list[BizgraphError] = []

    def fail(self, path: Path, code: str, message: str) -> None:
        self.errors.append(CommandError(code, message, field=path_of(path)))

    def done(self) -> None:
        if self.errors:
            raise Rejected(self.errors)

    @overload
    def text(self, path: Path, value: str | None, *, max_length: int, required: Literal[True]) -> str: ...

    @overload
    def text(self, path: Path, value: str | None, *, max_length: int, required: bool = False) -> str | None: ...

    def text(self, path: Path, value: str | None, *, max_length: int, required: bool = False) -> str | None:
        """The text trimmed of surrounding blanks; empty counts as missing."""
        if value is None:
            if required:
                self.fail(path, "REQUIRED", f"{label(path)} is required")
            return None
        value = value.strip()
        if not value:
            if required:
                self.fail(path, "REQUIRED", f"{label(path)} must not be blank")
            return None
        if len(value) > max_length:
            self.fail(path, "TOO_LONG", f"{label(path)} is longer than {max_length} characters")
        return value

    @overload
    def email(self, path: Path, value: str | None, *, required: Literal[True]) -> str: ...

    @overload
    def email(self, path: Path, value: str | None, *, required: bool = False) -> str | None: ...

    def email(self, path: Path, value: str | None, *, required: bool = False) -> str | None:
        value = self.text(path, value, max_length=254, required=required)
        if value is None or len(value) > 254:
            return value
        try:
            # Syntax only: no DNS lookups while a transaction waits.
            return validate_email(value, check_deliverability=False).normalized
        except EmailNotValidError as error:
            self.fail(path, "INVALID_EMAIL", f"{label(path)} is not an email address: {error}")
            return value

    @overload
    def money(
        self, path: Path, value: Decimal | None, *, positive: bool = False, required: Literal[True]
    ) -> Decimal: ...

    @overload
    def money(
        self, path: Path, value: Decimal | None, *, positive: bool = False, required: bool = False
    ) -> Decimal | None: ...

    def money(
        self, path: Path, value: Decimal | None, *, positive: bool = False, required: bool = False
    ) -> Decimal | None:
        if value is None:
            if required:
                self.fail(path, "REQUIRED", f"{label(path)} is required")
            return None
        if not value.is_finite() or abs(value) > MAX_MONEY:
            self.fail(path, "INVALID", f"{label(path)} must be an amount up to {MAX_MONEY}")
            return None
        if value != value.quantize(Decimal("0.01")):
            self.fail(path, "TOO_MANY_DECIMALS", f"{label(path)} has more than 2 decimal places")
        elif positive and value <= 0:
            self.fail(path, "NOT_POSITIVE", f"{label(path)} must be greater than zero")
        elif value < 0:
            self.fail(path, "NEGATIVE", f"{label(path)} must not be negative")
        return value.quantize(Decimal("0.01"))

    @overload
    def rate(self, path: Path, value: Decimal) -> Decimal: ...

    @overload
    def rate(self, path: Path, value: Decimal | None) -> Decimal | None: ...

    def rate(self, path: Path, value: Decimal | None) -> Decimal | None:
        """A tax rate as a fraction: 0 ≤ rate < 1, at most 4 decimal places."""
        if value is None:
            return None
        if not value.is_finite() or value < 0 or value >= 1:
            self.fail(path, "INVALID", f"{label(path)} must be a fraction from 0 up to (not including) 1")
        elif value != value.quantize(Decimal("0.0001")):
            self.fail(path, "TOO_MANY_DECIMALS", f"{label(path)} has more than 4 decimal places")
        return value

    # Typed by the value rather than by ``required``: a quantity given comes back as
    # given, right or wrong, and only a missing one is None. Order lines read
    # quantities before ``done()``, so a missing one must stay visible as None.
    @overload
    def quantity(self, path: Path, value: int, *, required: bool = True) -> int: ...

    @overload
    def quantity(self, path: Path, value: int | None, *, required: bool = True) -> int | None: ...

    def quantity(self, path: Path, value: int | None, *, required: bool = True) -> int | None:
        if value is None:
            if required:
                self.fail(path, "REQUIRED", f"{label(path)} is required")
            return None
        if value <= 0:
            self.fail(path, "NOT_POSITIVE", f"{label(path)} must be greater than zero")
        elif value > MAX_QUANTITY:
            self.fail(path, "INVALID", f"{label(path)} is larger than {MAX_QUANTITY}")
        return value

    @overload
    def whole(self, path: Path, value: int, *, low: int, high: int) -> int: ...

    @overload
    def whole(self, path: Path, value: int | None, *, low: int, high: int) -> int | None: ...

    def whole(self, path: Path, value: int | None, *, low: int, high: int) -> int | None:
        if value is not None and not low <= value <= high:
            self.fail(path, "INVALID", f"{label(path)} must be between {low} and {high}")
        return value


def not_found(path: Path, type_name: str) -> CommandError:
    return CommandError("NOT_FOUND", f"no {type_name} with this ID", field=path_of(path))
