"""The campaign a report is asked about, as it stood at the report's instant (services.asof): a campaign
opened after that instant is not known then (campaign rows are only ever inserted, dated created_at)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from safegrade.errors import NotFound
from safegrade.services.asof import AsOf
from safegrade.services.campaign import CampaignRecord, find_campaign


def campaign_as_of(session: Session, then: AsOf, name: str) -> CampaignRecord:
    """The campaign's row, if it had been opened by `then.at`; else NotFound (unknown_campaign)."""
    camp = find_campaign(session, name)
    if camp.created_at > then.at:
        raise NotFound(f"campaign {name!r} was not yet opened on {then.day} (opened {camp.created_at.date()})",
                       code="unknown_campaign", field="campaign", value=name, hint="list_campaigns")
    return camp
