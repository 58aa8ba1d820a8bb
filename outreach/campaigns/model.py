"""Campaign files: YAML, validated into typed ladders with errors that name the field."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from outreach.buckets import bucket_named, expand_group

Channel = Literal["sms", "email", "voice", "agent_queue"]


class CampaignError(ValueError):
    """A campaign file is unusable; the message names the file and field."""


class Stage(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    day: int = Field(ge=1)
    channel: Channel
    template: str


class Ladder(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    buckets: tuple[str, ...] = Field(min_length=1)
    stages: tuple[Stage, ...] = Field(min_length=1)

    @property
    def bucket_names(self) -> tuple[str, ...]:
        return expand_group(self.buckets)

    @property
    def first_dpd(self) -> int:
        """DPD at which an account enters this ladder (its day 1)."""
        return min(bucket_named(name).min_dpd for name in self.bucket_names)

    @model_validator(mode="after")
    def _check(self) -> Ladder:
        try:
            expand_group(self.buckets)
        except KeyError as exc:
            raise ValueError(exc.args[0]) from exc
        days = [stage.day for stage in self.stages]
        if days != sorted(days):
            raise ValueError("stages must be in day order")
        return self


class Campaign(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    name: str
    ladders: tuple[Ladder, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _one_ladder_per_bucket(self) -> Campaign:
        seen: dict[str, int] = {}
        for index, ladder in enumerate(self.ladders):
            for name in ladder.bucket_names:
                if name in seen:
                    raise ValueError(f"bucket {name} is served by ladders {seen[name]} and {index}")
                seen[name] = index
        stage_ids = [stage.id for ladder in self.ladders for stage in ladder.stages]
        duplicates = sorted({s for s in stage_ids if stage_ids.count(s) > 1})
        if duplicates:
            raise ValueError(f"stage ids must be unique, repeated: {duplicates}")
        return self

    def ladder_for(self, bucket: str) -> Ladder | None:
        for ladder in self.ladders:
            if bucket in ladder.bucket_names:
                return ladder
        return None


def parse_campaign(text: str, origin: str) -> Campaign:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CampaignError(f"{origin}: not valid YAML: {exc}") from exc
    try:
        return Campaign.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or '(top level)'}: {error['msg']}" for error in exc.errors()
        )
        raise CampaignError(f"{origin}: {problems}") from exc


def load_campaigns(directory: Path | None = None) -> list[Campaign]:
    """Campaigns from ``directory`` (every ``*.yaml``), or the shipped default."""
    if directory is None:
        text = resources.files("outreach.campaigns").joinpath("default.yaml").read_text(encoding="utf-8")
        return [parse_campaign(text, "outreach/campaigns/default.yaml")]
    files = sorted(directory.glob("*.yaml"))
    if not files:
        raise CampaignError(f"{directory}: no campaign files (*.yaml)")
    return [parse_campaign(path.read_text(encoding="utf-8"), str(path)) for path in files]
