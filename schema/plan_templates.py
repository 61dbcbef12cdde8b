"""Plans of repeated queries, kept and bound anew per request.

Most API traffic is the same few documents sent again and again with other variables: one
customer by id, then another. Parsing, validating, coercing the variables, pricing, reading the
selection and planning its SQL give the same result each time but the key of the row looked
up, so a query planned once for a principal's policy is kept here, and a later request of the
same shape only binds its own key into the kept statements (``resolvers.reads.one_with_id``).

What a plan depends on is what its key holds:

- the document's text and the operation's name;
- what the policy compiler reads of the principal: its organization, its roles, and the
  employee and customer it is linked to (row scopes are anchored on them);
- the variables, except the *slots*: a variable used once in the whole document, sent as a
  string, either as the ``id`` of a planned lookup root (``customer(id: $id)``: only its
  primary key reaches the statement, as a bound parameter) or as a ``String`` a filter compares
  a column with (``{name: {ilike: $q}}``: bound as it is). Everything else about the variables
  is structure (page sizes, cursors, enums, lists, orderings) and stays in the key verbatim.

A key slot's value is checked when it is bound, exactly as planning checks it (an ID of
another type or a garbled one is refused, and the request goes the general way, which answers
it as always). That nothing but a parameter depends on a key is checked too, once per shape,
before it is kept: the shape is planned again with other keys, and kept only if its statements
read the same and only the keys' parameters changed.

A request whose plan is not kept costs one planning, as before; the second request of a shape
keeps its plan for the ones after it (variables that differ every time, a search box's text or
a page's cursor, never crowd out the plans that are reused). Only documents the fast path
answers are kept; the rest are remembered as not kept, and planned once per request, as before.
Every map is bounded, by entries and by the text it holds (32 MB for the plans), so no client
can make them grow without end.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import orjson
from graphql import (
    ArgumentNode,
    FieldNode,
    NamedTypeNode,
    ObjectFieldNode,
    OperationType,
    VariableNode,
    visit,
)
from graphql.language import Visitor

from app.auth.principal import Principal
from app.errors import BizgraphError
from resolvers.planner.access import Access
from resolvers.planner.ids import MAX_BIGINT, decode_id, encode_id
from resolvers.planner.pagination import PageLimits
from resolvers.reads import ReadService, one_with_id, with_params
from schema.fastpath import PLANNED_ROOTS, FastPath, FastPlan
from schema.prepared import PreparedOperation

# Documents longer than this are planned every time: keeping them would let one client's
# large documents crowd out everyone's.
MAX_DOCUMENT_CHARS = 16 * 1024
# Nor are requests whose variables (but the key slots) spell out longer than this.
MAX_VARIABLES_CHARS = 4 * 1024
# Kept plans: how many, and how much text (documents, variables, SQL) they may hold together.
DEFAULT_ENTRIES = 1024
MAX_TEXT_CHARS = 32 * 1024 * 1024

# Where a key slot's value stands in a variables key.
_SLOT = "\x00key"
# The kinds of slot: a lookup's ID, a filter's text.
ID = "id"
TEXT = "text"
# The filter operators whose String operand is bound as it is.
_TEXT_OPERATORS = frozenset({"eq", "neq", "gt", "gte", "lt", "lte", "like", "ilike"})


@dataclass(frozen=True)
class PlannedQuery:
    """A query planned for this request: its statements bound (None: the fast path does not
    answer it, the standard way does), what it costs, its name."""

    plan: FastPlan | None
    cost: int | None
    operation_name: str | None


@dataclass(frozen=True)
class _KeySlot:
    """A lookup root whose key comes from a variable."""

    root: int  # its index among the plan's roots
    variable: str
    type_name: str


@dataclass(frozen=True)
class _TextSlot:
    """A filter's text compared with a column: one parameter of one root's statement."""

    root: int
    param: str
    variable: str


@dataclass(frozen=True)
class _Template:
    plan: FastPlan
    slots: tuple[_KeySlot, ...]
    cost: int | None
    operation_name: str | None
    weight: int
    texts: tuple[_TextSlot, ...] = ()

    def bound(self, variables: Mapping[str, Any]) -> PlannedQuery | None:
        """The plan for another request's variables (None: a key slot's value is refused)."""
        reads = list(self.plan.reads)
        for slot in self.slots:
            try:
                reads[slot.root] = one_with_id(reads[slot.root], slot.type_name, variables[slot.variable])
            except BizgraphError:
                return None
        for text in self.texts:
            # A String variable's value is the string sent: nothing to decode or check.
            reads[text.root] = with_params(reads[text.root], {text.param: variables[text.variable]})
        return PlannedQuery(FastPlan(self.plan.roots, tuple(reads)), self.cost, self.operation_name)


# A key whose plan is not kept (the fast path does not answer it, or it may not be bound anew).
_NOT_KEPT = "not kept"

_DocumentKey = tuple[str, str | None]


class PlanTemplates:
    """Kept plans (a least-recently-used map), for the lean path (``app/http/lean_queries.py``)."""

    def __init__(
        self,
        fast_path: FastPath,
        limits: PageLimits,
        *,
        entries: int = DEFAULT_ENTRIES,
        max_text_chars: int = MAX_TEXT_CHARS,
    ) -> None:
        self.fast_path = fast_path
        self.limits = limits
        self.entries = entries
        self.max_text_chars = max_text_chars
        # Each document's key slots, by variable name.
        self._slots: OrderedDict[_DocumentKey, dict[str, str]] = OrderedDict()
        self._templates: OrderedDict[tuple[Any, ...], _Template | str] = OrderedDict()
        # Shapes seen once, by their keys' hashes (``_seen_before``).
        self._seen: OrderedDict[int, None] = OrderedDict()
        self._text_chars = 0
        # Counted as the other caches count theirs (``bizgraph_cache_lookups_total``).
        self.lookups = {"hit": 0, "miss": 0}

    def __len__(self) -> int:
        return len(self._templates)

    def lookup(
        self, query: str, operation_name: str | None, variables: Mapping[str, Any] | None, principal: Principal
    ) -> PlannedQuery | None:
        """The request's query planned and bound, when a plan of its shape is kept."""
        slots = self._slots.get((query, operation_name))
        key = _key(query, operation_name, variables, principal, slots) if slots is not None else None
        template = self._templates.get(key) if key is not None else None
        planned = template.bound(variables or {}) if isinstance(template, _Template) else None
        if key is None or planned is None:
            self.lookups["miss"] += 1
            return None
        self._templates.move_to_end(key)
        self.lookups["hit"] += 1
        return planned

    def learn(
        self,
        query: str,
        operation_name: str | None,
        variables: Mapping[str, Any] | None,
        principal: Principal,
        prepared: PreparedOperation,
        cost: int | None,
    ) -> PlannedQuery:
        """Plans an admitted query (``prepared`` from this very request), once, and keeps the
        plan for later requests of its shape; the plan for this request."""
        if len(query) > MAX_DOCUMENT_CHARS or prepared.kind is not OperationType.QUERY:
            return self._planned(principal, prepared, cost)
        document = (query, operation_name)
        candidates = self._slots.get(document)
        if candidates is None:
            candidates = _slot_candidates(prepared)
            self._slots[document] = candidates
            if len(self._slots) > self.entries:
                self._slots.popitem(last=False)
        key = _key(query, operation_name, variables, principal, candidates)
        if key is None:
            return self._planned(principal, prepared, cost)
        kept = self._templates.get(key)
        planned = self._planned(principal, prepared, cost)
        if kept is not None or not self._seen_before(key):
            # Kept already (as not kept, or this request's key was refused in binding: it is
            # answered the general way, and the plan stays for the requests after it), or
            # seen first now.
            return planned
        if planned.plan is None:
            self._keep(key, _NOT_KEPT)
            return planned
        found = _slots_of(planned.plan, candidates, variables or {}, prepared)
        if found is None or not self._bound_alike(principal, prepared, planned.plan, *found):
            self._keep(key, _NOT_KEPT)
        else:
            # What the entry holds: the document, the variables in its key, the statements.
            weight = len(query) + len(key[-1]) + sum(len(read.plan.sql) for read in planned.plan.reads)
            slots, texts = found
            self._keep(key, _Template(planned.plan, slots, cost, planned.operation_name, weight, texts))
        return planned

    def _planned(self, principal: Principal, prepared: PreparedOperation, cost: int | None) -> PlannedQuery:
        """``prepared`` planned for ``principal``."""
        plan = self.fast_path.plan(prepared, ReadService(_NO_STATEMENTS, Access(principal), self.limits))
        return PlannedQuery(plan, cost, _name_of(prepared))

    def _bound_alike(
        self,
        principal: Principal,
        prepared: PreparedOperation,
        plan: FastPlan,
        slots: tuple[_KeySlot, ...],
        texts: tuple[_TextSlot, ...],
    ) -> bool:
        """Whether planning the same request with other values in its slots gives the same
        statements, only the slots' parameters changed: the check that nothing but a parameter
        depends on them, made once per kept shape rather than assumed."""
        if not slots and not texts:
            return True
        other: dict[str, Any] = dict(prepared.variables)
        expected: dict[int, Any] = {}
        changed: dict[int, dict[str, Any]] = {}
        for slot in slots:
            _, pk = decode_id(prepared.variables[slot.variable], slot.type_name)
            another = pk + 1 if pk < MAX_BIGINT else pk - 1
            other[slot.variable] = encode_id(slot.type_name, another)
            expected[slot.root] = another
        for text in texts:
            other[text.variable] = prepared.variables[text.variable] + "\u00b7"
            changed.setdefault(text.root, {})[text.param] = other[text.variable]
        replanned = self._planned(principal, replace(prepared, variables=other), None).plan
        if replanned is None:
            return False
        for index, (kept, again) in enumerate(zip(plan.reads, replanned.reads, strict=True)):
            if kept.plan.sql != again.plan.sql or kept.plan.key_param != again.plan.key_param:
                return False
            params = dict(kept.plan.params)
            if index in expected:
                key_param = kept.plan.key_param
                if key_param is None or again.plan.params.get(key_param) != expected[index]:
                    return False
                params[key_param] = expected[index]
            params.update(changed.get(index, {}))
            if params != again.plan.params:
                return False
        return True

    def _seen_before(self, key: tuple[Any, ...]) -> bool:
        """Whether a request of this shape came before (and, if not, remembers that it came).
        A shape is kept the second time it is seen: variables that differ in every request
        (a search box's text, a page's cursor) never push out the plans that are reused."""
        fingerprint = hash(key)
        if fingerprint in self._seen:
            del self._seen[fingerprint]
            return True
        self._seen[fingerprint] = None
        if len(self._seen) > 4 * self.entries:
            self._seen.popitem(last=False)
        return False

    def _keep(self, key: tuple[Any, ...], template: _Template | str) -> None:
        previous = self._templates.pop(key, None)
        if isinstance(previous, _Template):
            self._text_chars -= previous.weight
        self._templates[key] = template
        if isinstance(template, _Template):
            self._text_chars += template.weight
        while len(self._templates) > self.entries or self._text_chars > self.max_text_chars:
            _, evicted = self._templates.popitem(last=False)
            if isinstance(evicted, _Template):
                self._text_chars -= evicted.weight


def _name_of(prepared: PreparedOperation) -> str | None:
    name = prepared.operation.name
    return name.value if name is not None else None


def _key(
    query: str,
    operation_name: str | None,
    variables: Mapping[str, Any] | None,
    principal: Principal,
    slots: Mapping[str, str],
) -> tuple[Any, ...] | None:
    """The kept plan's key for a request (None: its variables cannot make one)."""
    masked = {
        name: _SLOT if name in slots and isinstance(value, str) else value for name, value in (variables or {}).items()
    }
    try:
        shape = orjson.dumps(masked, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        return None
    if len(shape) > MAX_VARIABLES_CHARS:
        return None
    return (
        query,
        operation_name,
        principal.org_id,
        principal.roles,
        principal.employee_id,
        principal.customer_id,
        shape,
    )


def _slot_candidates(prepared: PreparedOperation) -> dict[str, str]:
    """Variables used exactly once in the document, by kind: ``ID`` as the ``id`` of a planned
    lookup root, ``TEXT`` a ``String`` compared in a filter (``{name: {ilike: $q}}``)."""
    uses: dict[str, int] = {}
    ids: set[str] = set()
    texts: set[str] = set()
    strings = {
        definition.variable.name.value
        for definition in prepared.operation.variable_definitions or ()
        if _named(definition.type) == "String"
    }

    class Uses(Visitor):
        def enter_variable(self, node: VariableNode, _key: Any, parent: Any, _path: Any, ancestors: Any) -> None:
            name = node.name.value
            uses[name] = uses.get(name, 0) + 1
            if (
                name in strings
                and isinstance(parent, ObjectFieldNode)
                and parent.name.value in _TEXT_OPERATORS
                and any(isinstance(above, ArgumentNode) and above.name.value == "filter" for above in ancestors)
            ):
                texts.add(name)

    # Where variables are used (not where they are declared): the selections, the
    # operation's own directives, the fragments' selections.
    operation = prepared.operation
    used_in = [
        operation.selection_set,
        *(operation.directives or ()),
        *(f.selection_set for f in prepared.fragments.values()),
    ]
    for node in used_in:
        visit(node, Uses())
    for selection in prepared.operation.selection_set.selections:
        if not isinstance(selection, FieldNode) or PLANNED_ROOTS.get(selection.name.value, ("",))[0] != "one":
            continue
        variable = _id_variable(selection.arguments)
        if variable is not None:
            ids.add(variable)
    kinds = dict.fromkeys(ids, ID) | {name: TEXT for name in texts if name not in ids}
    return {name: kind for name, kind in kinds.items() if uses.get(name) == 1}


def _named(type_node: Any) -> str | None:
    while not isinstance(type_node, NamedTypeNode):
        type_node = getattr(type_node, "type", None)
        if type_node is None:
            return None
    return type_node.name.value


def _id_variable(arguments: tuple[ArgumentNode, ...] | list[ArgumentNode] | None) -> str | None:
    for argument in arguments or ():
        if argument.name.value == "id" and isinstance(argument.value, VariableNode):
            return argument.value.name.value
    return None


def _slots_of(
    plan: FastPlan, candidates: Mapping[str, str], variables: Mapping[str, Any], prepared: PreparedOperation
) -> tuple[tuple[_KeySlot, ...], tuple[_TextSlot, ...]] | None:
    """The plan's slots: each key candidate's lookup root, its key a parameter of its statement,
    and each text candidate's one parameter (None: a candidate's value did not come to be one,
    and the plan may not be bound anew)."""
    slots: list[_KeySlot] = []
    found: set[str] = set()
    texts: list[_TextSlot] = []
    for name, kind in candidates.items():
        if kind != TEXT or not isinstance(variables.get(name), str):
            continue
        # The very string object the request coerced (graphql-core passes a String through):
        # the parameter bound from it is the one that is that object.
        value = prepared.variables.get(name)
        bound = [
            (index, param)
            for index, read in enumerate(plan.reads)
            for param, bound_value in read.plan.params.items()
            if bound_value is value
        ]
        if len(bound) != 1:
            return None
        texts.append(_TextSlot(bound[0][0], bound[0][1], name))
        found.add(name)
    for index, root in enumerate(plan.roots):
        if PLANNED_ROOTS.get(root.name, ("",))[0] != "one" or len(root.origin) != 1:
            continue
        node = root.origin[0]
        variable = _id_variable(node.arguments) if isinstance(node, FieldNode) else None
        if variable is None or candidates.get(variable) != ID or not isinstance(variables.get(variable), str):
            continue
        if plan.reads[index].plan.key_param is None:
            return None
        slots.append(_KeySlot(index, variable, PLANNED_ROOTS[root.name][1]))
        found.add(variable)
    masked = {name for name in candidates if isinstance(variables.get(name), str)}
    return (tuple(slots), tuple(texts)) if found == masked else None


class _NoStatements:
    """Planning runs nothing: a statement asked for here is a bug."""

    async def fetch_value(self, sql: str, params: dict[str, Any]) -> Any:
        raise RuntimeError("plans are made here, never run")


_NO_STATEMENTS = _NoStatements()
