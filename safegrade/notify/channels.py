"""Notification channels, routing and delivery through Apprise.

A channel is an Apprise URL with the audiences (enterprise, district, bureau) and districts it serves.
`route` picks the channels of a message; `deliver` sends it to one channel with one Apprise call and
raises `DeliveryError` with the reason Apprise logged for that call (never a bare "False").

What a channel can promise: the outbox (safegrade.services.reminders) delivers each message to each
channel once, except that a crash between a channel accepting it and the outbox recording so, or a
delivery slower than the lease, sends it once more. The file channel (safegrade.notify.filechannel) is
idempotent by key, so it receives each message exactly once. Email, DingTalk and WeCom cannot tell a
repeat: at least once. Webhooks (json, form) also get the message's key and routing fields as payload
fields (`key`, `audience`, `district`, `credit_code`, …), so a receiver can drop a repeat.

URLs are checked when the settings load: a scheme outside `SCHEMES` or a URL Apprise cannot parse
stops the program with the key. Credentials never appear in a message: see `mask` and `scrub`.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

from safegrade.errors import ConfigError, SafegradeError
from safegrade.notify import filechannel

if TYPE_CHECKING:
    from safegrade.rules import Rules
    from safegrade.settings import Settings

AUDIENCES = ("enterprise", "district", "bureau")
SCHEMES = {
    "mailto": "mailto://user:pass@smtp.example.org?to=officer@example.org",
    "mailtos": "mailtos://user:pass@smtp.example.org?to=officer@example.org",
    "dingtalk": "dingtalk://TOKEN/ or dingtalk://SECRET@TOKEN/",
    "wecombot": "wecombot://BOTKEY",
    "json": "json://host:port/path", "jsons": "jsons://host/path",
    "form": "form://host:port/path", "forms": "forms://host/path",
    "file": "file://var/outbox (relative to config.yaml's folder) or file:///srv/outbox",
}
WEBHOOKS = ("json", "jsons", "form", "forms")
_TOKENS_IN_PATH = ("dingtalk", "wecombot")  # the host and path of these URLs are the credentials
_SECRET_PARAM = re.compile(r"(?i)(pass|pwd|token|secret|key|auth|sign)")
_USERINFO = re.compile(r"^(?P<user>[^/@:?]*):(?P<password>[^/@?]*)@")
_CHANNEL_KEYS = ("name", "url", "audiences", "districts")


class DeliveryError(SafegradeError):
    """A channel did not accept a message; the text says which channel and why (credentials masked)."""


@dataclass(frozen=True)
class EnterpriseInfo:
    name: str
    credit_code: str
    contact: str = ""
    phone: str = ""


@dataclass(frozen=True)
class Message:
    """One message to deliver. `key` is the outbox row's identity; `at` is when it is sent (ctx.now())."""

    key: str
    title: str
    body: str
    audience: str
    district: str | None
    at: datetime
    district_name: str | None = None
    enterprise: EnterpriseInfo | None = None
    recipient: str | None = None  # the account a personal copy is for (its key ends with ":to:<account>")

    def record(self) -> dict[str, Any]:
        """The message as the file channel writes it."""
        e = self.enterprise
        return {"key": self.key, "title": self.title, "body": self.body, "audience": self.audience,
                "district": self.district, "district_name": self.district_name, "at": self.at.isoformat(),
                "enterprise": None if e is None else {"name": e.name, "credit_code": e.credit_code,
                                                      "contact": e.contact, "phone": e.phone},
                **({"recipient": self.recipient} if self.recipient else {})}


@dataclass(frozen=True)
class Channel:
    name: str
    url: str  # as Apprise gets it: a file channel's folder is absolute here
    audiences: frozenset[str] = frozenset(AUDIENCES)
    districts: frozenset[str] = field(default_factory=frozenset)  # empty: every district

    @property
    def scheme(self) -> str:
        return self.url.partition("://")[0].lower()

    def serves(self, message: Message) -> bool:
        return message.audience in self.audiences and (not self.districts or message.district in self.districts)

    def __str__(self) -> str:
        return f"{self.name} ({mask(self.url)})"


def route(channels: Iterable[Channel], message: Message) -> list[Channel]:
    """The channels that serve the message's audience and district, in configuration order."""
    return [c for c in channels if c.serves(message)]


# --- channels to people ----------------------------------------------------------------------------------

CONTACTS = ("email", "phone", "im_user")
_SAMPLE_CONTACT = {"email": "someone@example.org", "phone": "13800000000", "im_user": "user01"}


@dataclass(frozen=True)
class PersonChannel:
    """A configured channel to people: an Apprise URL with `{to}`, the contact that fills it, its audiences."""

    name: str
    url: str  # as configured, with {to}
    contact: str
    audiences: frozenset[str] = frozenset(AUDIENCES)
    base_dir: Path = Path(".")  # a file channel's folder is taken from here

    def to(self, account: str, address: str) -> Channel:
        """This channel for one account: named '<account>:<channel>' (what `delivered_to` records)."""
        return Channel(f"{account}:{self.name}",
                       _resolved(self.url.replace("{to}", quote(address, safe="@+")), self.base_dir), self.audiences)


@dataclass(frozen=True)
class Person:
    """An account a reminder can reach: its name, role, scope and contacts."""

    name: str
    role: str
    district: str | None
    enterprise_code: str | None
    contacts: Mapping[str, str]


def personal(message: Message, people: Iterable[Person], channels: Iterable[PersonChannel]
             ) -> list[tuple[Channel, Message]]:
    """Each (channel, copy of `message`) that reaches one of `people`: the accounts of the message's audience —
    an enterprise message the accounts of that enterprise, a district message the district's officers, a bureau
    message the bureau's accounts — through each person channel whose contact the account has. Each copy has its
    own key (`<key>:to:<account>`), so an idempotent channel keeps one per person."""
    code = message.enterprise.credit_code if message.enterprise is not None else None
    found = []
    for person in people:
        if person.role != message.audience:
            continue
        if message.audience == "enterprise" and (code is None or person.enterprise_code != code):
            continue
        if message.audience == "district" and person.district != message.district:
            continue
        for channel in channels:
            address = person.contacts.get(channel.contact)
            if address and message.audience in channel.audiences:
                copy = Message(key=f"{message.key}:to:{person.name}", title=message.title, body=message.body,
                               audience=message.audience, district=message.district, at=message.at,
                               district_name=message.district_name, enterprise=message.enterprise,
                               recipient=person.name)
                found.append((channel.to(person.name, address), copy))
    return found


def check_person_channels(items: Sequence[tuple[str, str, str]], key: str = "notifications.people") -> None:
    """Each person channel: a unique name, an Apprise URL that names the recipient as {to} and parses with a
    sample recipient; ValueError naming every bad key."""
    problems: list[str] = []
    names: set[str] = set()
    for i, (name, url, contact) in enumerate(items):
        here = f"{key}[{i}]"
        if not name.strip() or ":" in name:
            problems.append(f"{here}.name: a non-empty name without ':'")
        if name in names:
            problems.append(f"{here}.name: {name!r} is used twice; give each channel its own name")
        names.add(name)
        if "{to}" not in url:
            problems.append(f"{here}.url: must name the recipient as {{to}}, e.g. "
                            "mailtos://user:pass@smtp.example.org?to={to}")
            continue
        try:
            check_url(url.replace("{to}", quote(_SAMPLE_CONTACT.get(contact, "x"), safe="@+")))
        except ValueError as exc:
            problems.append(f"{here}.url: {exc}")
    if problems:
        raise ValueError("; ".join(problems))


def person_channels_from_settings(settings: Settings) -> list[PersonChannel]:
    """The configured channels to people, file folders made absolute like the other channels'."""
    return [PersonChannel(p.name, p.url, p.contact, frozenset(p.audiences), settings.base_dir)
            for p in settings.notifications.people]


# --- credentials ---------------------------------------------------------------------------------------

def _secrets(url: str) -> list[str]:
    """The parts of a URL that are credentials: a password, the tokens of DingTalk and WeCom, secret-looking
    query values and header values (`+Header=value`)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    rest, _, query = rest.partition("?")
    found: list[str] = []
    if scheme.lower() in _TOKENS_IN_PATH:
        found += [part for part in re.split(r"[/@:]", rest) if part]
    elif m := _USERINFO.match(rest):
        found.append(m["password"])
    for pair in query.split("&"):
        name, _, value = pair.partition("=")
        if value and (name.startswith("+") or _SECRET_PARAM.search(name)):
            found.append(value)
    return sorted((s for s in found if len(s) >= 2), key=len, reverse=True)


def mask(url: str) -> str:
    """The URL with its credentials hidden, fit for messages and logs."""
    return scrub(url, url)


def scrub(text: str, url: str) -> str:
    """`text` with every credential of `url` hidden (Apprise's own log lines may quote them)."""
    for secret in _secrets(url):
        for form in dict.fromkeys((secret, unquote(secret), quote(unquote(secret), safe=""))):
            text = text.replace(form, "****")
    return text


# --- checking channels (at settings load) ------------------------------------------------------------------

@cache
def _apprise() -> ModuleType:
    """Apprise, with the file channel registered; imported only when a URL needs it (~80 ms)."""
    import apprise

    filechannel.register()
    return apprise


def check_url(url: str) -> str:
    """The URL's scheme if safegrade supports it and Apprise can parse it; ValueError saying what is allowed."""
    scheme, sep, rest = url.partition("://")
    scheme = scheme.lower()
    if not sep:
        raise ValueError(f"{mask(url)!r} is not an Apprise URL (SCHEME://…) such as {SCHEMES['mailto']}; "
                         f"allowed schemes: {', '.join(SCHEMES)}")
    if scheme not in SCHEMES:
        raise ValueError(f"{mask(url)!r}: scheme {scheme!r} is not supported; allowed: {', '.join(SCHEMES)}")
    if scheme == "file":
        if not rest.partition("?")[0].strip("/"):
            raise ValueError(f"{mask(url)!r} names no folder; write {SCHEMES['file']}")
        return scheme
    apprise = _apprise()
    with apprise.LogCapture(level=logging.WARNING, fmt="%(message)s") as captured:  # at load time: one thread
        plugin = apprise.Apprise.instantiate(url)
    if plugin is None:
        said = [line for line in captured.getvalue().splitlines() if line.strip() and "Could not load" not in line]
        why = f" ({scrub('; '.join(dict.fromkeys(said)), url)})" if said else ""
        raise ValueError(f"Apprise cannot parse {mask(url)!r}{why}; write it as {SCHEMES[scheme]}")
    return scheme


def default_name(url: str) -> str:
    """A channel's name when none is given: its scheme and a digest of its URL (stable, no credentials)."""
    return f"{url.partition('://')[0].lower()}-{hashlib.sha256(url.encode('utf-8')).hexdigest()[:8]}"


def _texts(value: Any, here: str, allowed: Sequence[str] | None, problems: list[str]) -> tuple[str, ...]:
    if not isinstance(value, list | tuple) or not all(isinstance(v, str | int) for v in value):
        problems.append(f"{here}: must be a list" + (f" of {', '.join(allowed)}" if allowed else " of district codes"))
        return ()
    texts = tuple(str(v) for v in value)  # YAML reads 120114 as a number
    for text in texts:
        if allowed is not None and text not in allowed:
            problems.append(f"{here}: {text!r} is not allowed; allowed: {', '.join(allowed)}")
    return texts


def _check_mapping(item: Mapping[str, Any], here: str, problems: list[str]) -> dict[str, Any]:
    unknown = sorted(set(map(str, item)) - set(_CHANNEL_KEYS))
    if unknown:
        problems.append(f"{here}: unknown key(s) {', '.join(unknown)}; allowed keys are {', '.join(_CHANNEL_KEYS)}")
    name = item.get("name")
    if name is not None and (not isinstance(name, str) or not name.strip()):
        problems.append(f"{here}.name: must be a non-empty text")
    audiences = _texts(item.get("audiences", list(AUDIENCES)), f"{here}.audiences", AUDIENCES, problems)
    if "audiences" in item and not audiences and isinstance(item["audiences"], list):
        problems.append(f"{here}.audiences: must name at least one of {', '.join(AUDIENCES)}")
    districts = _texts(item.get("districts", []), f"{here}.districts", None, problems)
    return {**item, "audiences": audiences, "districts": districts}


def check_channels(value: Any, key: str = "notifications.channels") -> list[str | dict[str, Any]]:
    """Check the configured channels: each an Apprise URL, or a mapping {name, url, audiences, districts};
    names unique. ValueError naming every bad key (e.g. notifications.channels[1].audiences)."""
    if value is None:
        return []
    if not isinstance(value, list | tuple):
        raise ValueError(f"{key}: must be a list of Apprise URLs or mappings {{{', '.join(_CHANNEL_KEYS)}}}")
    problems: list[str] = []
    checked: list[str | dict[str, Any]] = []
    names: dict[str, int] = {}
    for i, item in enumerate(value):
        here = f"{key}[{i}]"
        url: Any
        name: Any
        if hasattr(item, "model_dump"):  # a ChannelSettings already built (e.g. settings copied with an update)
            item = item.model_dump()
        if isinstance(item, str):
            url, url_key, name = item, here, None
            checked.append(item)
        elif isinstance(item, Mapping):
            url, url_key, name = item.get("url"), f"{here}.url", item.get("name")
            checked.append(_check_mapping(item, here, problems))
        else:
            problems.append(f"{here}: must be an Apprise URL or a mapping {{{', '.join(_CHANNEL_KEYS)}}}")
            continue
        if not isinstance(url, str) or not url.strip():
            problems.append(f"{url_key}: required, an Apprise URL such as {SCHEMES['mailto']}")
            continue
        try:
            check_url(url)
        except ValueError as exc:
            problems.append(f"{url_key}: {exc}")
        shown = name if isinstance(name, str) and name.strip() else default_name(url)
        if shown in names:
            problems.append(f"{here}: the channel name {shown!r} is already used by {key}[{names[shown]}]; "
                            "give each channel its own name")
        names.setdefault(shown, i)
    if problems:
        raise ValueError("; ".join(problems))
    return checked


def channels_from_settings(settings: Settings, rules: Rules | None = None) -> list[Channel]:
    """The configured channels: file folders made absolute from the config file's folder, district names
    or codes checked against the rules (ConfigError naming the key)."""
    channels = []
    for i, item in enumerate(settings.notifications.channels):
        here = f"notifications.channels[{i}]"
        name: str | None = None
        audiences: tuple[str, ...] = AUDIENCES
        districts: tuple[str, ...] = ()
        if isinstance(item, str):
            url = item
        else:
            url, name, audiences, districts = item.url, item.name, item.audiences, item.districts
        codes: list[str] = []
        for text in districts:
            found = rules.district(text) if rules is not None else None
            if rules is not None and found is None:
                raise ConfigError(f"{here}.districts: {text!r} is not a district of rules/districts.yaml; "
                                  "use a code such as 120114 or a name such as 武清区")
            codes.append(found.code if found else text)
        channels.append(Channel(name or default_name(url), _resolved(url, settings.base_dir),
                                frozenset(audiences), frozenset(codes)))
    return channels


def _resolved(url: str, base_dir: Path) -> str:
    """A file channel's URL with its folder absolute (file://var/outbox is taken from base_dir)."""
    scheme, _, rest = url.partition("://")
    if scheme.lower() != "file":
        return url
    path = rest.partition("?")[0]
    folder = Path(path) if path.startswith("/") else (base_dir / path).resolve()
    return "file://" + quote(str(folder))


# --- delivery ----------------------------------------------------------------------------------------------

def _webhook_url(url: str, message: Message) -> str:
    """A webhook's URL with the message's key and routing as extra payload fields (Apprise's `:field=value`)."""
    fields = {"key": message.key, "audience": message.audience, "district": message.district or ""}
    if message.enterprise is not None:
        fields |= {"credit_code": message.enterprise.credit_code, "enterprise": message.enterprise.name,
                   "contact": message.enterprise.contact, "phone": message.enterprise.phone}
    extra = "&".join(f":{k}={quote(v, safe='')}" for k, v in fields.items() if v)
    return url + ("&" if "?" in url else "?") + extra


def deliver(channel: Channel, message: Message) -> None:
    """Send `message` to `channel` with one Apprise call; DeliveryError with Apprise's reason if refused."""
    apprise = _apprise()
    url = _webhook_url(channel.url, message) if channel.scheme in WEBHOOKS else channel.url
    sender = apprise.Apprise()
    if not sender.add(url):
        raise DeliveryError(f"{channel}: Apprise cannot load this URL")
    token = filechannel.RECORD.set(message.record())
    try:
        reason = _notify(sender, message) if hasattr(apprise, "AppriseResult") else _notify_captured(sender, message)
    except Exception as exc:  # a plugin that raises instead of logging: still one channel's failure
        reason = f"{type(exc).__name__}: {exc}"
    finally:
        filechannel.RECORD.reset(token)
    if reason is not None:
        raise DeliveryError(scrub(f"{channel}: {reason}", channel.url))


def _notify(sender: Any, message: Message) -> str | None:
    """Apprise 2: the call's result carries its own log lines (safe with several senders in threads)."""
    with sender.notify(body=message.body, title=message.title, body_format="text") as result:
        if result:
            return None
        lines = [entry.message for entry in result.logs() if entry.level in ("WARNING", "ERROR", "CRITICAL")]
        return "; ".join(dict.fromkeys(lines)) or f"Apprise gave no reason (status {result.status.name})"


def _notify_captured(sender: Any, message: Message) -> str | None:
    """Apprise 1.9: notify returns a bool; the reason is what Apprise logged during the call."""
    with _apprise().LogCapture(level=logging.WARNING, fmt="%(message)s") as captured:
        ok = sender.notify(body=message.body, title=message.title, body_format="text")
    if ok:
        return None
    lines = [line for line in captured.getvalue().splitlines() if line.strip()]
    return "; ".join(dict.fromkeys(lines)) or "Apprise gave no reason"
