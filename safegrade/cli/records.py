"""Commands over the records: ledger import, enterprises, firing events, actors."""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.progress import BarColumn, Progress, TextColumn
from rich.table import Table

from safegrade import auth
from safegrade.cli.app import app, emit, err, options, out
from safegrade.errors import InvalidInput
from safegrade.output import jsonable
from safegrade.services import actors, enterprise

if TYPE_CHECKING:
    from safegrade.services.lifecycle import EventChoice

ledger_app = typer.Typer(help="The districts' 台账 (ledgers of graded enterprises).", no_args_is_help=True)
enterprise_app = typer.Typer(help="Graded enterprises (定级企业).", no_args_is_help=True)
actor_app = typer.Typer(help="Who may act, in which role and scope.", no_args_is_help=True)
app.add_typer(ledger_app, name="ledger")
app.add_typer(enterprise_app, name="enterprise")
app.add_typer(actor_app, name="actor")


SHOW_FIELDS = (
    ("统一社会信用代码", "credit_code"), ("企业名称", "name"), ("所属区", "district_name"),
    ("行业类别", "sector_label"),
    ("标准化等级", "level"), ("证书编号", "certificate_no"), ("定级日期", "graded_on"), ("有效期至", "valid_until"),
    ("状态", "state_label"), ("定级有效性", "grade_label"), ("有效期届满日", "validity_ended_on"), ("版本", "version"),
    ("最近评估结果", "last_result"), ("待整改问题", "open_findings"),
    ("重大事故隐患", "open_major_hazards"), ("逾期未整改", "overdue_findings"), ("公示期至", "publicity_ends_on"),
    ("撤销事由", "revocation_reason_label"),
    ("撤销日期", "revoked_on"), ("标记", "flags"),
)


def _pairs(values: list[str], option: str) -> dict[str, str]:
    pairs = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InvalidInput(f"{option}: {item!r} is not KEY=VALUE")
        pairs[key.strip()] = value.strip()
    return pairs


@ledger_app.command("import")
def ledger_import(
    ctx: typer.Context,
    files: list[Path] = typer.Argument(..., help="Ledger files (.xlsx or .csv)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Validate only; write nothing."),
    amend: bool = typer.Option(False, "--amend", help="Record changed values of registered enterprises."),
    accept_check: list[str] = typer.Option(
        [], "--accept-check", help="CODE=REASON: accept a credit code whose check character fails."),
) -> None:
    """Import ledgers: every row checked; all written in one transaction, or nothing."""
    from safegrade.services import ledger  # here, not at the top: enterprise and actor commands need none of it

    opts = options(ctx)
    context = opts.context()
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed} rows"),
                  console=err, transient=True, disable=opts.json) as bar:
        task = bar.add_task("reading ledger", total=None)
        report = ledger.import_ledger(context, files, dry_run=dry_run, amend=amend,
                                      check_overrides=ledger.check_overrides_from(accept_check),
                                      progress=lambda n: bar.update(task, completed=n))
    if emit(opts, report.__dict__):
        raise typer.Exit(1 if report.problems else 0)
    for line in report.problems:
        err.print(f"  {line}", markup=False)
    verb = "would create" if dry_run else "created"
    out.print(f"{', '.join(report.files)}: {report.rows} valid rows; {verb} {report.created}, unchanged "
              f"{report.unchanged}, amended {report.amended}; flagged not 工贸 {report.not_gongmao}, "
              f"check character overridden {report.check_overrides}"
              + (f"; {len(report.problems)} problem(s)" if report.problems else ""), markup=False)
    if report.problems:
        raise typer.Exit(1)


@ledger_app.command("export")
def ledger_export(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="The workbook to write (.xlsx)."),
    district: str | None = typer.Option(None, "--district", help="Only this district."),
    include_all: bool = typer.Option(False, "--all", help="Every registered enterprise, not only valid grades."),
) -> None:
    """Write the 台账 of valid graded enterprises: a 汇总 sheet and one sheet per district."""
    from safegrade.services import ledger

    opts = options(ctx)
    done = ledger.export_ledger(opts.context(), file, district=district, include_all=include_all)
    if not emit(opts, done):
        out.print(f"wrote {done.enterprises} enterprises to {done.file} (as of {done.as_of}): "
                  + ", ".join(f"{k} {v}" for k, v in done.sheets.items()), markup=False)


@ledger_app.command("reconcile")
def ledger_reconcile(
    ctx: typer.Context,
    files: list[Path] = typer.Argument(..., help="Ledgers submitted by the districts."),
    district: str | None = typer.Option(None, "--district", help="Compare against this district only."),
    propose: bool = typer.Option(False, "--propose", help="Propose revocation of non-工贸 and deregistered ones."),
    campaign: str | None = typer.Option(None, "--campaign",
                                        help="These are the districts' 台账 submissions for this campaign."),
) -> None:
    """Compare submitted ledgers with the database: missing, extra, changed, non-工贸, expired, two districts."""
    from safegrade.services import ledger

    opts = options(ctx)
    done = ledger.reconcile_ledger(opts.context(), files, district=district, propose=propose, campaign=campaign)
    if emit(opts, done):
        return
    for line in done.unreadable_rows:
        err.print(f"  {line}", markup=False)
    if done.discrepancies:
        table = Table(*done.discrepancies[0].keys())
        for d in done.discrepancies:
            table.add_row(*d.values())
        out.print(table)
    out.print(f"{done.rows} ledger rows, {len(done.discrepancies)} discrepancies, "
              f"{len(done.unreadable_rows)} unreadable rows", markup=False)
    if propose:
        out.print(f"revocation proposed for {len(done.proposed)}: {', '.join(done.proposed) or '-'}",
                  markup=False)
        for line in done.refused:
            err.print(f"  refused {line}", markup=False)
    for sub in done.submitted:
        when = f"（逾期{sub.late_days}天）" if sub.late_days else "（按期）"
        again = "" if sub.recorded else "（此前已记录）"
        out.print(f"{sub.district_name}: 台账已报送{when}{again}", markup=False)


@enterprise_app.command("list")
def enterprise_list(
    ctx: typer.Context,
    state: str | None = typer.Option(None, "--state", help="Only this state (e.g. rectifying)."),
    district: str | None = typer.Option(None, "--district", help="Only this district (name or code)."),
    flag: str | None = typer.Option(None, "--flag", help="Only enterprises with this flag (e.g. not_gongmao)."),
    limit: int | None = typer.Option(None, "--limit", min=1, help="At most this many (a page)."),
    overdue: bool = typer.Option(False, "--overdue", help="Only those with a finding past its deadline."),
    search: str | None = typer.Option(None, "--search", "-q",
                                      help="A part of the name, or the start of the credit code (名称或代码)."),
    after: str | None = typer.Option(None, "--after", help="The next page: the cursor printed after a page."),
) -> None:
    """List enterprises with their state (Chinese labels)."""
    opts = options(ctx)
    page = enterprise.enterprise_page(opts.context(), state=state, district=district, flag=flag, limit=limit,
                                      overdue=overdue, q=search, after=after)
    rows = page.items
    if emit(opts, rows):
        return
    table = Table("统一社会信用代码", "企业名称", "区", "行业", "等级", "有效期至", "状态", "标记")
    for r in rows:
        table.add_row(r.credit_code, r.name, r.district_name, r.sector_label, r.level,
                      str(r.valid_until), r.state_label, ", ".join(r.flags))
    out.print(table)
    out.print(f"{len(rows)} enterprise(s)" + (f"; next page: --after {page.next}" if page.next else ""),
              markup=False)


@enterprise_app.command("show")
def enterprise_show(ctx: typer.Context, code: str = typer.Argument(..., help="Credit code.")) -> None:
    """One enterprise; with --as-of, as it stood then (rebuilt from its audit trail)."""
    opts = options(ctx)
    context = opts.context()
    shown = enterprise.show_enterprise(context, code, as_of=opts.as_of_instant())
    if emit(opts, shown):
        return
    table = Table(show_header=False)
    for label, key in SHOW_FIELDS:
        value = getattr(shown, key, None)
        table.add_row(label, ", ".join(value) if isinstance(value, list) else "" if value is None else str(value))
    if isinstance(shown, enterprise.EnterpriseThen):
        out.print(f"as of {shown.as_of} (from the audit trail)")
    out.print(table)
    _show_events(shown.events, shown.judgement)


def _show_events(events: list[EventChoice], judgement: str) -> None:
    """The events of the enterprise's state: those the actor could fire now first, then the others with why not."""
    table = Table("事件", "event", "可执行", "说明", title=f"可执行事件（{judgement}）")
    for e in sorted(events, key=lambda e: not e.available):
        table.add_row(e.label, e.event, "是" if e.available else "否", e.reason or "")
    out.print(table if events else "可执行事件：无（终态）", markup=False)


@app.command("fire")
def fire(
    ctx: typer.Context,
    code: str = typer.Argument(..., help="Credit code of the enterprise."),
    event: str = typer.Argument(..., help="Lifecycle event (see `safegrade diagram`)."),
    reason: str = typer.Option(..., "--reason", help="Why: recorded in the audit trail."),
    data: list[str] = typer.Option([], "--data", help="KEY=VALUE fields the event takes."),
    expect_version: int | None = typer.Option(None, "--expect-version",
                                              help="Refuse if the enterprise moved past this version."),
) -> None:
    """Fire a lifecycle event on one enterprise (role, scope, guards; audited)."""
    from safegrade.services import lifecycle

    opts = options(ctx)
    context = opts.context()
    fired = lifecycle.fire_event(context, code, event, reason=reason, data=_pairs(data, "--data"),
                                 expected_version=expect_version)
    if emit(opts, fired.__dict__):
        return
    label = context.rules.state_label
    out.print(f"{fired.credit_code}: {event} {label(fired.from_state)} → {label(fired.to_state)} "
              f"(version {fired.version}, audit {fired.hash[:12]})", markup=False)


@actor_app.command("add")
def actor_add(
    ctx: typer.Context,
    name: str = typer.Argument(...),
    role: str = typer.Option(..., "--role", help="bureau | district | enterprise | reviewer | system"),
    district: str | None = typer.Option(None, "--district", help="District of a district officer."),
    enterprise_code: str | None = typer.Option(None, "--enterprise", help="Credit code of an enterprise user."),
    email: str | None = typer.Option(None, "--email", help="E-mail address (电子邮箱), for reminders."),
    phone: str | None = typer.Option(None, "--phone", help="Mobile phone (手机号码), for reminders."),
    im_user: str | None = typer.Option(None, "--im", help="DingTalk or WeCom user id (钉钉/企业微信用户ID)."),
) -> None:
    """Add an actor (添加用户). The first actor with the right to add actors needs no --actor; a password is
    set with `actor password NAME`."""
    opts = options(ctx)
    added = auth.add_account(opts.context(), name, role, district=district, enterprise_code=enterprise_code,
                             email=email, phone=phone, im_user=im_user)
    if not emit(opts, added):
        out.print(f"actor {added.name} added as {added.role}"
                  + (f" for {added.district}" if added.district else ""), markup=False)


def _status(row: auth.AccountRow | None, zone: tzinfo | None = None) -> str:
    if row is None:
        return ""
    if row.role == "system":
        return "不可登录 never signs in"
    if row.disabled:
        return "已停用 disabled"
    if row.locked_until is not None:
        return f"已锁定 locked until {row.locked_until.astimezone(zone):%Y-%m-%d %H:%M}"
    if not row.has_password:
        return "未设密码 no password"
    return "须改密码 must change" if row.must_change else "正常 active"


@actor_app.command("list")
def actor_list(ctx: typer.Context) -> None:
    """The actors, with the state of their accounts (用户及账号状态)."""
    opts = options(ctx)
    context = opts.context()
    rows = actors.list_actors(context)
    accounts = {a.name: a for a in auth.list_accounts(context)}
    if emit(opts, [{**jsonable(r), "account": jsonable(accounts.get(r.name))} for r in rows]):
        return
    table = Table("name", "role", "角色", "区", "企业", "账号状态", "联系方式", "created by")
    for r in rows:
        a = accounts.get(r.name)
        contacts = ", ".join(c for c in (a.email, a.phone, a.im_user) if c) if a else ""
        table.add_row(r.name, r.role, r.role_label, r.district, r.enterprise_code, _status(a, context.settings.zone),
                      contacts,
                      r.created_by)
    out.print(table)


@actor_app.command("password")
def actor_password(ctx: typer.Context, name: str = typer.Argument(..., help="The actor (用户名).")) -> None:
    """Set a one-time password, shown once; it must be changed at the first sign-in (设置一次性密码，首次登录须修改).
    The account's sessions end."""
    opts = options(ctx)
    done = auth.set_one_time_password(opts.context(), name)
    if not emit(opts, done):
        out.print(f"one-time password for {done.actor} (shown once; must be changed at first sign-in / "
                  f"仅显示一次，首次登录须修改):", markup=False)
        out.print(done.password, markup=False, highlight=False)


def _account_line(row: auth.AccountRow) -> str:
    return f"{row.name}: {_status(row)}"


@actor_app.command("disable")
def actor_disable(ctx: typer.Context, name: str = typer.Argument(..., help="The actor (用户名).")) -> None:
    """Disable an account: no sign-in, its sessions end, its API tokens stop working (停用账号)."""
    opts = options(ctx)
    row = auth.disable_account(opts.context(), name)
    if not emit(opts, row):
        out.print(_account_line(row), markup=False)


@actor_app.command("enable")
def actor_enable(ctx: typer.Context, name: str = typer.Argument(..., help="The actor (用户名).")) -> None:
    """Enable a disabled account again (启用账号)."""
    opts = options(ctx)
    row = auth.enable_account(opts.context(), name)
    if not emit(opts, row):
        out.print(_account_line(row), markup=False)


@actor_app.command("contacts")
def actor_contacts(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The actor (用户名)."),
    email: str | None = typer.Option(None, "--email", help="E-mail address (电子邮箱); '' clears it."),
    phone: str | None = typer.Option(None, "--phone", help="Mobile phone (手机号码); '' clears it."),
    im_user: str | None = typer.Option(None, "--im", help="DingTalk or WeCom user id (钉钉/企业微信用户ID)."),
) -> None:
    """Change an account's contacts (修改联系方式)."""
    opts = options(ctx)
    row = auth.set_contacts(opts.context(), name, email=email, phone=phone, im_user=im_user)
    if not emit(opts, row):
        out.print(f"{row.name}: " + (", ".join(c for c in (row.email, row.phone, row.im_user) if c) or "-"),
                  markup=False)


_UNITS = {"d": 1, "w": 7}


def parse_expiry(text: str) -> timedelta:
    """'90d' (days) or '12w' (weeks) as a duration; anything else names the option."""
    number, unit = text.strip()[:-1], text.strip()[-1:].lower()
    if unit not in _UNITS or not number.isdigit():
        raise InvalidInput(f"--expires: {text!r} is not a duration; use days such as 90d (or weeks: 12w)",
                           code="invalid_expiry", field="expires_in", value=text, allowed="Nd or Nw")
    return timedelta(days=int(number) * _UNITS[unit])


@actor_app.command("token")
def actor_token(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The actor (用户名)."),
    expires: str = typer.Option(..., "--expires", help="How long it is valid, e.g. 90d (有效期)."),
    label: str = typer.Option("", "--label", help="What the token is for (用途说明)."),
) -> None:
    """Issue a personal API token, shown once (签发API令牌，仅显示一次); send it as `Authorization: Bearer`."""
    opts = options(ctx)
    context = opts.context()
    issued = auth.issue_token(context, name, expires_in=parse_expiry(expires), label=label)
    if not emit(opts, issued):
        until = issued.expires_at.astimezone(context.settings.zone)
        out.print(f"API token {issued.id} for {issued.actor}, valid until {until:%Y-%m-%d %H:%M} "
                  f"(shown once / 仅显示一次):", markup=False)
        out.print(issued.token, markup=False, highlight=False)


@actor_app.command("tokens")
def actor_tokens(ctx: typer.Context, name: str | None = typer.Argument(None, help="Only this actor's.")) -> None:
    """List API tokens with their last use, never their secrets (API令牌列表)."""
    opts = options(ctx)
    context = opts.context()
    rows = auth.list_tokens(context, name)
    if emit(opts, rows):
        return
    table = Table("id", "用户", "用途", "签发", "签发人", "有效期至", "最近使用", "撤销")

    def when(at: datetime | None) -> str:
        return "" if at is None else f"{at.astimezone(context.settings.zone):%Y-%m-%d %H:%M}"

    for r in rows:
        table.add_row(r.id, r.actor, r.label, when(r.created_at), r.created_by, when(r.expires_at),
                      when(r.last_used_at), when(r.revoked_at))
    out.print(table)
    out.print(f"{len(rows)} token(s)")


@actor_app.command("revoke-token")
def actor_revoke_token(ctx: typer.Context,
                       token_id: str = typer.Argument(..., help="The token's id (令牌ID).")) -> None:
    """Revoke an API token (撤销API令牌)."""
    opts = options(ctx)
    row = auth.revoke_token(opts.context(), token_id)
    if not emit(opts, row):
        out.print(f"token {row.id} of {row.actor} revoked", markup=False)
