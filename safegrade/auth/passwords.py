"""Passwords: Argon2id through pwdlib, the policy (of the kind 等级保护 2.0 asks for), one-time passwords.

A password is never logged, stored in clear, put in an error message or in the security log: the refusals
below name the rule that failed, never the password.
"""

from __future__ import annotations

import secrets
import string

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from safegrade.errors import InvalidInput

HASHER = PasswordHash((Argon2Hasher(),))
MIN_LENGTH = 10
SYMBOLS = "!#$%&*+-.:=?@^_~"  # what a one-time password draws its symbols from (easy to read and to type)
POLICY = (f"密码至少{MIN_LENGTH}位，须包含大写字母、小写字母、数字、特殊符号中的至少三类，"
          "不得包含账号名（不区分大小写），不得与原密码相同")
# a hash of nothing anyone can type: verified against when the account is unknown, so that an unknown name
# takes as long to refuse as a wrong password
_DUMMY = HASHER.hash(secrets.token_urlsafe(32))


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def verify_password(password: str, stored: str | None) -> tuple[bool, str | None]:
    """(matches, a new hash when the stored one was made with other parameters); with no stored hash the
    work is done anyway against a dummy and the answer is no."""
    if stored is None:
        HASHER.verify(password, _DUMMY)
        return False, None
    try:
        return HASHER.verify_and_update(password, stored)
    except Exception:  # noqa: BLE001 (a malformed stored hash is a mismatch, never a crash that says why)
        return False, None


def classes(password: str) -> int:
    """How many of the four classes (upper, lower, digit, symbol) the password uses."""
    return sum((
        any(c.isupper() for c in password),
        any(c.islower() for c in password),
        any(c.isdigit() for c in password),
        any(not c.isalnum() and not c.isspace() for c in password),
    ))


def _weak(why: str) -> InvalidInput:
    return InvalidInput(f"{{password}}: {why}", code="weak_password", field="password", allowed=POLICY)


def check_policy(password: str, account: str, *, old_hash: str | None = None) -> None:
    """Refuse a password the policy does not allow: InvalidInput(code="weak_password") naming the rule."""
    if len(password) < MIN_LENGTH:
        raise _weak(f"too short: at least {MIN_LENGTH} characters (至少{MIN_LENGTH}位)")
    if classes(password) < 3:
        raise _weak("needs at least 3 of upper case, lower case, digits and symbols (至少包含三类字符)")
    if account and account.casefold() in password.casefold():
        raise _weak("must not contain the account name (不得包含账号名)")
    if old_hash is not None and verify_password(password, old_hash)[0]:
        raise _weak("must differ from the current password (不得与原密码相同)")


def one_time_password(account: str = "") -> str:
    """A random password that meets the policy: 16 characters of all four classes."""
    alphabet = string.ascii_letters + string.digits + SYMBOLS
    while True:
        candidate = "".join(secrets.choice(alphabet) for _ in range(16))
        if classes(candidate) == 4 and not (account and account.casefold() in candidate.casefold()):
            return candidate
