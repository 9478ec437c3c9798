"""Card checks run by the activity worker: Luhn, expiry and CVV.

The functions are pure (the expiry check takes today's date as an argument), so they can be
unit tested without an SWF endpoint. The activity input has the form
``NNNN-NNNN-NNNN-NNNN,MM/YY,CVV``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

CARD_NUMBER_DIGITS = 16

_EXPIRY_PATTERN = re.compile(r"(\d{2})/(\d{2})", re.ASCII)
_CVV_PATTERN = re.compile(r"\d{3}", re.ASCII)
_NUMBER_SEPARATORS = re.compile(r"[\s-]")


@dataclass(frozen=True)
class FailedCheck:
    """A check that the card input did not pass."""

    name: str
    message: str


@dataclass(frozen=True)
class CardVerification:
    """Outcome of verifying one card input.

    ``masked_number`` is None when the input has no 16-digit card number to mask.
    """

    masked_number: str | None
    failed_checks: list[FailedCheck] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.failed_checks


def normalize_card_number(number: str) -> str | None:
    """Return the card number without dashes and spaces, or None unless that is 16 digits."""
    digits = _NUMBER_SEPARATORS.sub("", number)
    if len(digits) != CARD_NUMBER_DIGITS or not digits.isascii() or not digits.isdigit():
        return None
    return digits


def luhn_valid(digits: str) -> bool:
    """Return whether a string of ASCII digits passes the Luhn checksum.

    Counting from the right, every second digit (the second, fourth, ...) is doubled, and 9
    is subtracted when the result exceeds 9. The sum of all digits must be a multiple of 10.
    """
    if not digits or not digits.isascii() or not digits.isdigit():
        return False

    total = 0
    for position, character in enumerate(reversed(digits)):
        digit = int(character)
        if position % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def parse_expiry(expiry: str) -> tuple[int, int] | None:
    """Return (year, month) for an ``MM/YY`` expiry, or None if it is malformed.

    Two-digit years are read as 2000-2099.
    """
    match = _EXPIRY_PATTERN.fullmatch(expiry)
    if match is None:
        return None

    month = int(match.group(1))
    year = 2000 + int(match.group(2))
    if not 1 <= month <= 12:
        return None
    return year, month


def expiry_valid(expiry: str, today: date) -> bool:
    """Return whether an ``MM/YY`` expiry is well formed and not in the past.

    A card stays valid through the last day of its expiry month.
    """
    parsed = parse_expiry(expiry)
    if parsed is None:
        return False
    return parsed >= (today.year, today.month)


def cvv_valid(cvv: str) -> bool:
    """Return whether the CVV is exactly three ASCII digits."""
    return _CVV_PATTERN.fullmatch(cvv) is not None


def mask_card_number(digits: str) -> str:
    """Return the digits with all but the last four replaced by ``*``."""
    return "*" * (len(digits) - 4) + digits[-4:]


def verify_card(card_input: str | None, today: date) -> CardVerification:
    """Run every check on a ``NNNN-NNNN-NNNN-NNNN,MM/YY,CVV`` input and collect the failures.

    Malformed input (None, the wrong number of fields) is reported as the failed check
    ``format`` instead of raising.
    """
    if card_input is None:
        return CardVerification(None, [FailedCheck("format", "input is missing")])

    fields = [part.strip() for part in card_input.split(",")]
    if len(fields) != 3:
        message = (
            f"input has {len(fields)} comma-separated fields, expected 3: "
            "NNNN-NNNN-NNNN-NNNN,MM/YY,CVV"
        )
        return CardVerification(None, [FailedCheck("format", message)])

    number, expiry, cvv = fields
    failed: list[FailedCheck] = []

    digits = normalize_card_number(number)
    if digits is None:
        failed.append(FailedCheck("number", "card number is not 16 digits"))
    elif not luhn_valid(digits):
        failed.append(FailedCheck("luhn", "card number fails the Luhn check"))

    parsed_expiry = parse_expiry(expiry)
    if parsed_expiry is None:
        failed.append(FailedCheck("expiry", "expiry is not a valid MM/YY date"))
    elif not expiry_valid(expiry, today):
        failed.append(FailedCheck("expiry", f"card expired at the end of {expiry}"))

    if not cvv_valid(cvv):
        failed.append(FailedCheck("cvv", "CVV is not 3 digits"))

    masked = mask_card_number(digits) if digits is not None else None
    return CardVerification(masked, failed)
