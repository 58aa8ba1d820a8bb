"""Campaign ladders: which step an account in a bucket gets on which day."""

from outreach.campaigns.model import Campaign, CampaignError, Ladder, Stage, load_campaigns

__all__ = ["Campaign", "CampaignError", "Ladder", "Stage", "load_campaigns"]
