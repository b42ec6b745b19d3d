"""Assessment campaigns (运行质量评估): the list, opening one (the same inputs as `campaign open`), its status
per district, and excluding a selected enterprise (注销, 迁址 …). Each route calls the service the CLI's
`campaign list|open|status|exclude` calls; role and scope are the services'."""

from __future__ import annotations

import shutil
import tempfile
from datetime import date
from pathlib import Path as FilePath
from typing import Annotated

from fastapi import APIRouter, Body, Path
from pydantic import BaseModel, ConfigDict, Field

from safegrade.api import problems
from safegrade.api.deps import Acting, require_csrf
from safegrade.api.text import TEXT, Text
from safegrade.api.uploads import Received, located
from safegrade.errors import InputErrors
from safegrade.services import campaign
from safegrade.services.campaign import CampaignRecord, CampaignStatus, ExcludedMember, OpenedCampaign

router = APIRouter(prefix="/campaigns", tags=["campaigns 评估批次"])

NAME = Annotated[str, Path(description="评估批次名称", examples=["2023年运行质量评估"], min_length=1,
                           max_length=200, pattern=TEXT)]
CODES_NAME = "codes"  # how a problem in `codes` names where it is: file "codes", row = the code's position


class OpenBody(BaseModel):
    """A campaign to open: its window, and the enterprises chosen in exactly one way (all, one district, or a
    list of credit codes)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, json_schema_extra={"examples": [
        {"name": "2023年运行质量评估", "starts_on": "2023-06-01", "ends_on": "2023-08-31", "all": True,
         "ledger_due_on": "2023-12-15"},
        {"name": "2023年武清区抽查", "starts_on": "2023-06-01", "ends_on": "2023-08-31", "district": "武清区"}]})
    name: Text = Field(min_length=1, max_length=200, description="评估批次名称，如 2023年运行质量评估")
    starts_on: date = Field(description="评估开始日")
    ends_on: date = Field(description="评估截止日（各区的期限）")
    all_: bool = Field(False, alias="all", description="所有可评估的企业")
    district: Text | None = Field(None, max_length=64, description="该区所有可评估的企业（名称或代码）")
    codes: list[Text] | None = Field(None, max_length=100_000, description="指定企业的统一社会信用代码")
    ledger_due_on: date | None = Field(None, description="各区台账报送期限")


class ExclusionBody(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"credit_code": "91120114MA00000019", "reason": "deregistered", "note": "2023-06-20 注销公告"}]})
    credit_code: Text = Field(min_length=1, max_length=64, description="统一社会信用代码")
    reason: Text = Field(min_length=1, max_length=64, description="不予评估的事由（rules/triggers.yaml 的 "
                                                                 "campaign_exclusions 之一）")
    note: Text = Field("", max_length=2000, description="说明（如注销公告）")


@router.get("", response_model=list[CampaignRecord], summary="评估批次列表",
            responses=problems.responses(401, 403, 422, 503))
def list_campaigns(ctx: Acting) -> list[CampaignRecord]:
    return campaign.list_campaigns(ctx)


@router.post("", response_model=OpenedCampaign, status_code=201, summary="开启评估批次",
             dependencies=[require_csrf], responses=problems.responses(401, 403, 404, 409, 422, 503))
def open_campaign(ctx: Acting, body: Annotated[OpenBody, Body()]) -> OpenedCampaign:
    """The chosen enterprises go to 评估中, with the window's end as their deadline; all in one transaction."""
    if body.codes is None:
        return campaign.open_campaign(ctx, body.name, body.starts_on, body.ends_on, all_=body.all_,
                                      district=body.district, ledger_due_on=body.ledger_due_on)
    folder = FilePath(tempfile.mkdtemp(prefix="safegrade-codes-"))
    try:
        codes = folder / CODES_NAME
        codes.write_text("\n".join(c.replace("\n", " ").replace(",", " ") or "-" for c in body.codes) + "\n",
                         encoding="utf-8")
        try:
            return campaign.open_campaign(ctx, body.name, body.starts_on, body.ends_on, all_=body.all_,
                                          district=body.district, codes_file=codes, ledger_due_on=body.ledger_due_on)
        except InputErrors as exc:
            raise located(exc, [Received(codes, CODES_NAME, "", 0, "text/plain")]) from None
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@router.get("/{name}/status", response_model=CampaignStatus, summary="评估批次进度（按区）",
            responses=problems.responses(401, 403, 404, 422, 503))
def campaign_status(ctx: Acting, name: NAME) -> CampaignStatus:
    """Per district: selected, excluded, assessed, outstanding, late, results, interviews, revocations."""
    return campaign.campaign_status(ctx, name)


@router.post("/{name}/exclusions", response_model=ExcludedMember, status_code=201, summary="不予评估（注销、迁址等）",
             dependencies=[require_csrf], responses=problems.responses(401, 403, 404, 409, 422, 503))
def exclude_member(ctx: Acting, name: NAME, body: Annotated[ExclusionBody, Body()]) -> ExcludedMember:
    """Exclude a selected enterprise from the campaign, counted apart; its lifecycle event is fired."""
    return campaign.exclude_member(ctx, name, body.credit_code, body.reason, body.note)
