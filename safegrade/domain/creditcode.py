"""The unified social credit code (统一社会信用代码, GB 32100-2015).

An 18-character code: 17 characters from a 31-symbol alphabet (digits and capital letters without
I, O, S, V and Z, which look like digits) and a check character over them. Ledgers are typed by hand,
so every problem is named precisely: the length, the characters not allowed, or the check character
found and the one expected. Only the check character is verified here; the registration authority,
entity type and division code (positions 1–8) are not, because a code keeps the division code of its
date of issue and real codes exist for every combination the ledgers hold.
"""

from __future__ import annotations

from operator import mul

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
LENGTH = 18
NEVER_USED = "IOSVZ"

_VALUE = {c: i for i, c in enumerate(ALPHABET)}
_ALLOWED = frozenset(ALPHABET)

# Full-width ASCII (U+FF01..U+FF5E) to half-width; spaces (also full-width and no-break) removed.
_NORMALIZE: dict[int, int | None] = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}
_NORMALIZE.update({ord(c): None for c in " \t\r\n\u3000\u00a0\u200b\ufeff"})


def _weighted_check(first17: str) -> str:
    """The check character of 17 characters already known to be allowed."""
    total = sum(map(mul, map(_VALUE.__getitem__, first17), WEIGHTS))
    return ALPHABET[(31 - total % 31) % 31]


def _disallowed(text: str) -> list[str]:
    """The characters of `text` outside the alphabet, each once, in order of appearance."""
    if _ALLOWED.issuperset(text):
        return []
    return list(dict.fromkeys(c for c in text if c not in _ALLOWED))


def _disallowed_reason(bad: list[str]) -> str:
    """Names the characters not allowed and says which letters a credit code never uses."""
    named = ", ".join(repr(c) for c in bad)
    reason = (f"character(s) {named} not allowed: a credit code uses digits 0–9 and capital letters "
              f"except {', '.join(NEVER_USED)}, which are never used")
    if any(c.upper() in _ALLOWED for c in bad if c.islower()):
        reason += " (letters must be capitals)"
    return reason


def check_char(first17: str) -> str:
    """The check character for the first 17 characters of a code.

    Raises ValueError when `first17` is not 17 allowed characters, since no check character exists.
    """
    if len(first17) != LENGTH - 1:
        raise ValueError(f"{first17!r} has {len(first17)} characters; the check covers exactly 17")
    bad = _disallowed(first17)
    if bad:
        raise ValueError(f"{first17!r}: {_disallowed_reason(bad)}")
    return _weighted_check(first17)


def problem(code: str) -> str | None:
    """None when `code` is a valid credit code; otherwise what is wrong with it, for a user to read.

    The code is taken as given: call normalize() first on text typed by a person.
    """
    if not code:
        return f"empty; a {LENGTH}-character 统一社会信用代码 is required"
    reasons = []
    if len(code) != LENGTH:
        reasons.append(f"has {len(code)} character(s), {LENGTH} needed")
    bad = _disallowed(code)
    if bad:
        reasons.append(_disallowed_reason(bad))
    if reasons:
        return "; ".join(reasons)
    expected = _weighted_check(code[:-1])
    if code[-1] != expected:
        return f"check character is {code[-1]!r}, expected {expected!r}"
    return None


def check_char_mismatch(code: str) -> bool:
    """True when `code` is 18 allowed characters whose check character is wrong.

    That is the one defect an authorised user may override with a recorded reason: a few real codes
    fail the check, and losing the enterprise would be worse than accepting it with the reason.
    """
    if len(code) != LENGTH or _disallowed(code):
        return False
    return code[-1] != _weighted_check(code[:-1])


def normalize(text: str) -> str:
    """The code as it is stored: spaces removed (also full-width), full-width letters and digits made
    half-width, letters upper-cased. Nothing else is changed, so a wrong code stays visibly wrong."""
    return str(text).translate(_NORMALIZE).upper()


def make(first17: str) -> str:
    """A valid code from its first 17 characters (synthetic data and tests)."""
    return first17 + check_char(first17)
