"""Which media type a GraphQL answer is served as, from the request's ``Accept`` header.

GraphQL over HTTP defines two: ``application/graphql-response+json``, whose status codes say
whether the operation ran (a request error is a 4xx without ``data``), and ``application/json``,
which older clients expect and which answers 200 whenever the request was well-formed. The rules
followed, from the spec's "Accept" and "Body" sections (stage 2, with its legacy watershed):

- the highest-priority acceptable type wins (``q`` values, RFC 9110 §12.5.1; a more specific
  range such as ``application/json`` overrides ``application/*`` and ``*/*`` for its type);
- both named with the same weight: ``application/graphql-response+json``, the spec's own type;
- no ``Accept`` header, or only wildcards (``*/*``, ``application/*``): ``application/json``.
  After the watershed the spec lets a server assume the new type here, but clients that send no
  ``Accept`` or ``*/*`` are the legacy clients the watershed protects (curl, older libraries,
  and graphql-http's audit asks for ``application/json`` in both cases);
- nothing acceptable (``Accept: text/html`` alone): the spec allows answering with the server's
  choice instead of 406, and bizgraph answers ``application/json`` so a browser or a misconfigured
  client still sees a readable GraphQL response.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache


class GraphQLMediaType(StrEnum):
    """The media types a GraphQL answer can be served as, with the ``Content-Type`` to send."""

    GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
    JSON = "application/json"

    @property
    def content_type(self) -> str:
        if self is GraphQLMediaType.GRAPHQL_RESPONSE_JSON:
            # The spec asks servers to state the encoding.
            return f"{self}; charset=utf-8"
        # Exactly what bizgraph always sent: older clients compare it as it is.
        return str(self)


@dataclass(frozen=True)
class _Preference:
    """How much the client wants one media type: the weight of the most specific range that
    names it, and how specific that range was (``_EXACT``, 1 for ``type/*``, 0 for ``*/*``)."""

    weight: float
    specificity: int


_EXACT = 2


# Clients send the same few ``Accept`` values: each is negotiated once (bounded: the values
# are the client's to choose).
@lru_cache(maxsize=256)
def negotiate(accept: str | None) -> GraphQLMediaType:
    """The media type to answer a request whose ``Accept`` header is ``accept`` (None: absent)."""
    ranges = _parse(accept or "")
    modern = _preference(GraphQLMediaType.GRAPHQL_RESPONSE_JSON.value, ranges)
    legacy = _preference(GraphQLMediaType.JSON.value, ranges)
    if modern is None:
        return GraphQLMediaType.JSON
    if legacy is None:
        return GraphQLMediaType.GRAPHQL_RESPONSE_JSON
    if modern.weight != legacy.weight:
        return GraphQLMediaType.GRAPHQL_RESPONSE_JSON if modern.weight > legacy.weight else GraphQLMediaType.JSON
    # Equal weights: the new type when the client named it, the legacy one when only a
    # wildcard covers both.
    return GraphQLMediaType.GRAPHQL_RESPONSE_JSON if modern.specificity == _EXACT else GraphQLMediaType.JSON


def _parse(accept: str) -> list[tuple[str, float]]:
    """``(media range, weight)`` for each well-formed element of an ``Accept`` value."""
    ranges: list[tuple[str, float]] = []
    for element in accept.split(","):
        media_range, *parameters = (part.strip() for part in element.split(";"))
        media_range = media_range.lower()
        if media_range.count("/") != 1:
            continue
        weight = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = float(value.strip())
                except ValueError:
                    weight = -1.0  # a malformed weight makes the element malformed
        if 0 <= weight <= 1:
            ranges.append((media_range, weight))
    return ranges


def _preference(media_type: str, ranges: list[tuple[str, float]]) -> _Preference | None:
    """How much ``ranges`` want ``media_type``; None when no range covers it or the most
    specific one refuses it (``q=0``)."""
    main_type = media_type.split("/")[0]
    best: _Preference | None = None
    for media_range, weight in ranges:
        if media_range == media_type:
            specificity = _EXACT
        elif media_range == f"{main_type}/*":
            specificity = 1
        elif media_range == "*/*":
            specificity = 0
        else:
            continue
        # The most specific range decides; among equally specific ones, the highest weight.
        if best is None or (specificity, weight) > (best.specificity, best.weight):
            best = _Preference(weight, specificity)
    return best if best is not None and best.weight > 0 else None
