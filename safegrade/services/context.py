"""What every use case runs with: settings, rules, store, clock and who is acting, from where."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlmodel import col

from safegrade.audit.trail import Actor as AuditActor
from safegrade.clock import Clock, FixedClock, SystemClock
from safegrade.errors import Forbidden, InvalidInput, NotFound
from safegrade.models import Actor
from safegrade.rules import Rules, load_rules
from safegrade.services.scope import Scope, read_scope, unknown_enterprise
from safegrade.settings import Settings
from safegrade.store import Store, make_engine

SOURCES = ("cli", "api", "web", "flow")


@dataclass
class Context:
    settings: Settings
    rules: Rules
    store: Store
    clock: Clock
    actor_name: str | None = None
    source: str = "cli"
    _actor: Actor | None = field(default=None, repr=False)
    # how the actor is known: "session:ID" or "token:ID" for a signed-in user of the API or the pages
    via: str | None = None
    # the operating-system user who runs the CLI (the console's declaration `--actor` stands beside it)
    os_user: str | None = None
    # the client's address at the API or the pages (lockout, the security log); None at the console
    client: str | None = None

    def now(self) -> datetime:
        """The (possibly simulated) current instant in the deployment's time zone."""
        return self.clock.now().astimezone(self.settings.zone)

    def acting(self, *, actor: str | None, source: str, via: str | None = None, client: str | None = None,
               clock: Clock | None = None) -> Context:
        """This context for one request of a front door: the same settings, rules and store (opened once per
        process), another actor, door, client and (for a read "as of") clock."""
        if source not in SOURCES:
            raise ValueError(f"source must be one of {SOURCES}")
        return Context(self.settings, self.rules, self.store, clock or self.clock, actor, source, via=via,
                       client=client)

    def actor(self) -> Actor:
        """The acting user, who must exist in the actor table; refused without one."""
        if self._actor is None:
            if not self.actor_name:
                raise Forbidden("this action needs an actor: {hint}", code="no_actor", field="actor",
                                hint="name_actor")
            with self.store.read() as session:
                found = session.execute(select(Actor).where(col(Actor.name) == self.actor_name)).scalar_one_or_none()
            if found is None:
                raise NotFound(f"no actor named {self.actor_name!r}", code="unknown_actor", field="actor",
                               value=self.actor_name, hint="add_actor")
            self._actor = found
        return self._actor

    def require(self, action: str, what: str | None = None, *, read: bool = False) -> Actor:
        """The acting actor, if the rules' `actions` let their role take `action`; refused otherwise. A role
        whose scope is `none` (the reviewer) reads and writes nothing: refused read_only for anything but a
        `read`."""
        actor = self.actor()
        if not read:
            refuse_read_only(actor, self.rules, what or action.replace("_", " "))
        actions = self.rules.lifecycle.actions
        if not self.rules.lifecycle.may(actor.role, action):
            raise Forbidden(f"role '{actor.role}' may not {what or action.replace('_', ' ')}; allowed roles: "
                            f"{', '.join(actions.get(action, ())) or 'none'}", code="role_forbidden", field="actor",
                            value=actor.name, allowed=list(actions.get(action, ())))
        return actor

    def reader(self, action: str) -> Scope:
        """What this context's reader sees when taking the read `action` (services.scope.read_scope)."""
        return read_scope(self, action)

    def audit_actor(self) -> AuditActor:
        a = self.actor()
        return AuditActor(a.name, a.role, self.source, self.via, self.os_user)


def open_context(
    settings: Settings,
    *,
    as_of: datetime | None = None,
    actor: str | None = None,
    source: str = "cli",
    clock: Clock | None = None,
    store: Store | None = None,
    rules: Rules | None = None,
    check_schema: bool = True,
    via: str | None = None,
    os_user: str | None = None,
    client: str | None = None,
) -> Context:
    """Load the rules, open the database and fix the clock; refuse an outdated schema early."""
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}")
    rules = rules or load_rules(settings.rules_path)
    store = store or Store(make_engine(settings.db_url, sqlite_synchronous=settings.sqlite_synchronous))
    if check_schema:
        store.require_schema()
    if clock is None:
        clock = FixedClock(as_of, settings.zone) if as_of is not None else SystemClock(settings.zone)
    return Context(settings, rules, store, clock, actor, source, via=via, os_user=os_user, client=client)


def district_code(rules: Rules, district: str | None) -> str | None:
    """The code of a district given by name or code (None for none); an unknown one is refused with the known."""
    if district is None:
        return None
    found = rules.district(district)
    if found is None:
        names = [d.name for d in rules.districts.values()]
        raise InvalidInput(f"{{district}}: unknown district {district!r}; known: {', '.join(names)}",
                           code="unknown_district", field="district", value=district, allowed=names)
    return found.code


def refuse_read_only(actor: Actor, rules: Rules, what: str) -> None:
    """A role whose scope is `none` (the reviewer: reads everything, writes nothing) is refused any change."""
    role = rules.lifecycle.roles.get(actor.role)
    if role is None or role.scope == "none":
        raise Forbidden(f"{actor.name} ({actor.role}) has read-only access; may not {what}", code="read_only",
                        field="actor", value=actor.name)


def scope_check(actor: Actor, rules: Rules, district: str, credit_code: str, what: str,
                missing: Callable[[], NotFound] | None = None) -> None:
    """A district officer acts only in their district; an enterprise user only on itself; a reviewer nowhere.

    An object outside the actor's scope is refused as a missing one is (`missing()`, by default the NotFound of an
    enterprise with `credit_code`): its existence is not disclosed. A read-only role is refused (read_only)."""
    scope = rules.lifecycle.roles[actor.role].scope if actor.role in rules.lifecycle.roles else "none"
    if scope == "all":
        return
    if scope == "district" and actor.district is not None and actor.district == district:
        return
    if scope == "enterprise" and actor.enterprise_code is not None and actor.enterprise_code == credit_code:
        return
    if scope in ("district", "enterprise"):
        if missing is not None:
            raise missing()
        raise unknown_enterprise(credit_code)
    refuse_read_only(actor, rules, what)
