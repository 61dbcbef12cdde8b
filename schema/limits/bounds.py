"""The limits a GraphQL request is checked against before any work, from the settings."""

from __future__ import annotations

from dataclasses import dataclass

from app.config import Settings
from schema.limits.counts import AliasLimit, DirectiveLimit
from schema.limits.depth import DepthLimit
from schema.limits.lists import ListLengthLimit
from schema.limits.rules import LimitRule


@dataclass(frozen=True)
class DocumentLimits:
    max_document_bytes: int
    max_tokens: int
    max_depth: int
    max_aliases: int
    max_directives: int
    max_variables_bytes: int
    max_list_length: int
    cache_bytes: int

    @classmethod
    def from_settings(cls, settings: Settings) -> DocumentLimits:
        return cls(
            max_document_bytes=settings.max_document_bytes,
            max_tokens=settings.max_tokens,
            max_depth=settings.max_depth,
            max_aliases=settings.max_aliases,
            max_directives=settings.max_directives,
            max_variables_bytes=settings.max_variables_bytes,
            max_list_length=settings.max_list_length,
            cache_bytes=settings.document_cache_bytes,
        )

    def validation_rules(self) -> tuple[type[LimitRule], ...]:
        """The limit rules with these maximums; build them once per schema."""
        return (
            DepthLimit.bound(self.max_depth),
            AliasLimit.bound(self.max_aliases),
            DirectiveLimit.bound(self.max_directives),
            ListLengthLimit.bound(self.max_list_length),
        )
