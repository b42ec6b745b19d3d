"""Accounts, sign-in, sessions, API tokens and the security log: the use cases that prove who a user is.

Like safegrade.services, these take a Context and return contracts (frozen dataclasses); the CLI and the
API call them and nothing below them. Passwords are hashed with Argon2id (pwdlib); session and token
secrets are stored as their SHA-256 only; no password or secret is ever logged, stored in clear, or put in
an error message or in the security log.
"""

from safegrade.audit.security import KINDS as SECURITY_EVENT_KINDS
from safegrade.audit.security import SecurityBreak
from safegrade.auth.accounts import (
    AccountRow,
    OneTimePassword,
    account_of,
    add_account,
    change_password,
    disable_account,
    enable_account,
    list_accounts,
    set_contacts,
    set_one_time_password,
)
from safegrade.auth.common import Principal
from safegrade.auth.secret import signing_secret
from safegrade.auth.securitylog import (
    SecurityEventRow,
    SecurityLogReport,
    list_security_events,
    verify_security_log,
)
from safegrade.auth.sessions import SignedIn, authenticate_session, sign_in, sign_out
from safegrade.auth.tokens import IssuedToken, TokenRow, authenticate_token, issue_token, list_tokens, revoke_token

__all__ = [
    "SECURITY_EVENT_KINDS",
    "AccountRow",
    "IssuedToken",
    "OneTimePassword",
    "Principal",
    "SecurityBreak",
    "SecurityEventRow",
    "SecurityLogReport",
    "SignedIn",
    "TokenRow",
    "account_of",
    "add_account",
    "authenticate_session",
    "authenticate_token",
    "change_password",
    "disable_account",
    "enable_account",
    "issue_token",
    "list_accounts",
    "list_security_events",
    "list_tokens",
    "revoke_token",
    "set_contacts",
    "set_one_time_password",
    "sign_in",
    "sign_out",
    "signing_secret",
    "verify_security_log",
]
