"""The campaign a report is asked about, as it stood at the report's instant (services.asof): a campaign
opened after that instant is not known then (campaign rows are only ever inserted, dated created_at)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from safegrade.errors import NotFound
from safegrade.services.asof import AsOf
from safegrade.services.campaign import CampaignRecord, find_campaign


def campaign_as_of(session: Session, then: AsOf, name: str) -> CampaignRecord:
    """The campaign's row, if it had been opened by `then.at`; else the refusal a database that recorded nothing
    after `then.at` gives (NotFound, unknown_campaign): a read as of an instant says nothing of what came later."""
    camp = find_campaign(session, name)
    if camp.created_at > then.at:
        raise NotFound(f"no campaign named {name!r}", code="unknown_campaign", field="campaign", value=name,
                       hint="list_campaigns")
    return camp
