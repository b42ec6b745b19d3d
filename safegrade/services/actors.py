"""Who may act: actors with a role and a scope (a district, or one enterprise)."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ValidationError
from sqlalchemy import false, func, or_, select
from sqlmodel import col

from safegrade.errors import InvalidInput
from safegrade.models import Actor, ActorBase, Enterprise, table
from safegrade.services.asof import as_of
from safegrade.services.context import Context
from safegrade.services.scope import READ_ACTORS

SYSTEM_ACTOR = "system"



@dataclass(frozen=True, slots=True)
class AddedActor:
    name: str
    role: str
    district: str | None  # district code, for a district officer
    enterprise_code: str | None  # for an enterprise user
    created_by: str
    bootstrap: bool  # the first actor who may add actors, added without one


@dataclass(frozen=True, slots=True)
class ActorRow:
    """An actor as listed: the rules' label of the role, the district's name ('' for none)."""

    name: str
    role: str
    role_label: str
    district: str
    enterprise_code: str
    created_by: str


def _needs_bootstrap(ctx: Context) -> bool:
    """No actor who may add actors exists yet: the first one is added without an acting actor."""
    roles = ctx.rules.lifecycle.actions.get("add_actor", ())
    with ctx.store.read() as session:
        return not session.execute(select(func.count()).select_from(Actor).where(col(Actor.role).in_(roles))).scalar()


def add_actor(ctx: Context, name: str, role: str, *, district: str | None = None,
              enterprise_code: str | None = None) -> AddedActor:
    spec = ctx.rules.lifecycle
    bootstrap = _needs_bootstrap(ctx)
    if bootstrap:
        creator = ctx.actor_name or "(bootstrap)"
    else:
        creator = ctx.require("add_actor", "add actors").name
    if role not in spec.roles:
        raise InvalidInput(f"{{role}}: unknown role {role!r}; known roles are {', '.join(spec.roles)}",
                           code="unknown_role", field="role", value=role, allowed=list(spec.roles))
    scope = spec.roles[role].scope
    code = None
    if scope == "district":
        found = ctx.rules.district(district or "")
        if found is None:
            raise InvalidInput(f"{{district}}: a '{role}' actor needs a district; {district!r} is not one of "
                               f"{', '.join(d.name for d in ctx.rules.districts.values())}",
                               code="unknown_district", field="district", value=district,
                               allowed=[d.name for d in ctx.rules.districts.values()])
        code = found.code
    elif district:
        raise InvalidInput(f"{{district}} is only for roles with district scope, not '{role}'",
                           code="not_applicable", field="district", value=district,
                           allowed="roles with district scope")
    if scope == "enterprise" and not enterprise_code:
        raise InvalidInput(f"{{enterprise_code}}: a '{role}' actor needs the credit code of their enterprise",
                           code="required", field="enterprise_code", value=enterprise_code,
                           allowed="the credit code of the actor's enterprise")
    if scope != "enterprise" and enterprise_code:
        raise InvalidInput(f"{{enterprise_code}} is only for roles with enterprise scope, not '{role}'",
                           code="not_applicable", field="enterprise_code", value=enterprise_code,
                           allowed="roles with enterprise scope")
    try:
        fields = ActorBase.model_validate({"name": name.strip(), "role": role, "district": code,
                                           "enterprise_code": enterprise_code.strip().upper() if enterprise_code
                                           else None})
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InvalidInput("actor: " + "; ".join(f"{e['loc'][0]}: {e['msg']}" for e in exc.errors()),
                           field=str(first["loc"][0]), value=first.get("input")) from None
    with ctx.store.write() as session:
        if session.execute(select(Actor).where(col(Actor.name) == fields.name)).scalar_one_or_none():
            raise InvalidInput(f"an actor named {fields.name!r} already exists", code="already_exists", field="name",
                               value=fields.name)
        session.add(Actor(**fields.model_dump(), created_by=creator, created_at=ctx.now()))
    return AddedActor(**fields.model_dump(), created_by=creator, bootstrap=bootstrap)


def list_actors(ctx: Context) -> list[ActorRow]:
    """The actors added up to the context's now, by name. A district officer reads the actors of its district:
    its officers and the accounts of its enterprises (read_actors)."""
    scope = ctx.reader(READ_ACTORS)
    with ctx.store.read() as session:
        then = as_of(ctx, session)
        a, e = then.table(table(Actor)), then.table(table(Enterprise))
        query = select(a).order_by(a.c.name)
        if scope.kind != "all":
            query = query.where(or_(a.c.district == scope.district if scope.district else false(),
                                    a.c.enterprise_code.in_(scope.filter(select(e.c.credit_code), e))))
        actors = [dict(r) for r in session.execute(query).mappings()]
    roles = ctx.rules.lifecycle.roles
    return [ActorRow(name=r["name"], role=r["role"], role_label=roles[r["role"]].label if r["role"] in roles
                     else r["role"], district=ctx.rules.district_name(r["district"]) if r["district"] else "",
                     enterprise_code=r["enterprise_code"] or "", created_by=r["created_by"]) for r in actors]


def ensure_system_actor(ctx: Context) -> bool:
    """The actor scheduled flows act as; created by `init`. True when it was created now."""
    with ctx.store.write() as session:
        if session.execute(select(Actor).where(col(Actor.name) == SYSTEM_ACTOR)).scalar_one_or_none():
            return False
        session.add(Actor(name=SYSTEM_ACTOR, role="system", created_by="init", created_at=ctx.now()))
    return True
