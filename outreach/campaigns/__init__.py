"""Campaigns: one YAML file each, naming the buckets served and the escalation ladder."""

from outreach.campaigns.model import (
    Campaign,
    CampaignError,
    RepaymentPlanOffer,
    SelfService,
    Stage,
    load_campaign,
    load_campaigns,
    loadable_campaigns,
    parse_campaign,
    validate_directory,
)

__all__ = [
    "Campaign",
    "CampaignError",
    "RepaymentPlanOffer",
    "SelfService",
    "Stage",
    "load_campaign",
    "load_campaigns",
    "loadable_campaigns",
    "parse_campaign",
    "validate_directory",
]
