"""The one way an operation is admitted and run, whatever carried it (HTTP, a WebSocket, a stream).

Admission, in order: a stored document named by its hash is resolved (or refused), introspection
is refused to roles that may not use it, the operation is prepared once (parsed, validated, its
variables coerced), then priced and paid for, before any connection is taken. A query or a
mutation then runs in one ``OperationScope``: on the fast path when it is fully planned, else
through strawberry. A subscription is handed, admitted, to the live service by its transport.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any

from graphql import GraphQLError, GraphQLSchema
from graphql import OperationType as OperationKind
from starlette.datastructures import State
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from app.auth.access import may_use_tool
from app.auth.principal import Principal
from app.errors import BizgraphError, CostExceeded, DatabaseUnavailable, Forbidden, RateLimited
from app.http.persisted import PersistedOperations
from app.http.request_record import current
from app.http.request_trace import traced_fast_path
from resolvers.scope import OperationScope
from schema.context import Context
from schema.cost.gate import CostGate, CostReport
from schema.errors import response_body
from schema.fastpath import FastPath
from schema.introspection import uses_introspection
from schema.limits.parsing import documents_of
from schema.plan import PlanMode, PlanReporter
from schema.plan_templates import PlannedQuery
from schema.prepared import PreparedOperation, prepare_operation

QUERIES_AND_MUTATIONS = frozenset({OperationType.QUERY, OperationType.MUTATION})


@dataclass(frozen=True)
class Admitted:
    """An operation that may run: its request (a stored document's text filled in), its
    preparation (None when it will not run as sent: the standard way reports why) and what it
    cost, for ``extensions.cost``."""

    request: GraphQLRequestData
    prepared: PreparedOperation | None
    extensions: dict[str, Any] | None
    # The explorer's plan, when asked for and allowed (``schema/plan.py``).
    plan: PlanMode | None = None
    # A query already planned for this request (a kept plan bound anew, or one made on a miss,
    # ``schema/plan_templates.py``): the fast path runs it as it is, or, when the fast path does
    # not answer it, the standard way does, without planning it again.
    planned: PlannedQuery | None = None
    # What the operation was priced at (None: it was not priced).
    cost: int | None = None

    @property
    def is_subscription(self) -> bool:
        return self.prepared is not None and self.prepared.kind is OperationKind.SUBSCRIPTION

    @property
    def is_query(self) -> bool:
        return self.planned is not None or (self.prepared is not None and self.prepared.kind is OperationKind.QUERY)


@dataclass(frozen=True)
class Answer:
    """An operation's result, and what an HTTP answer says beside it: a status more precise
    than 200 (429 when the budget ran out, 503 when the database was unreachable) and when
    to retry."""

    result: ExecutionResult
    status: int | None = None
    retry_after: int | None = None
    # The WAL position the operation's writes reached on the primary (None: it wrote nothing).
    written: int | None = None


class OperationPipeline:
    def __init__(
        self,
        schema: Any,
        *,
        fast_path: bool = True,
        introspection_roles: frozenset[str] | None = None,
        cost_gate: CostGate | None = None,
        persisted_only_roles: frozenset[str] = frozenset(),
    ) -> None:
        # strawberry's schema runs what the fast path does not.
        self.schema = schema
        # graphql-core's schema under strawberry's: what operations are prepared against.
        self.graphql_schema: GraphQLSchema = schema._schema
        self.fast_path = FastPath(self.graphql_schema) if fast_path else None
        # None: everyone may introspect (demo mode).
        self.introspection_roles = introspection_roles
        # None: operations are neither priced nor limited (embedded uses without limits).
        self.cost_gate = cost_gate
        documents = documents_of(self.graphql_schema)
        self.persisted = PersistedOperations(self.graphql_schema, documents, persisted_only_roles)
        self.plans = PlanReporter(self.graphql_schema, cost_gate.calculator if cost_gate is not None else None)

    async def admit(
        self,
        state: State,
        principal: Principal,
        request: GraphQLRequestData,
        *,
        mutations_allowed: bool,
        plan: str | None = None,
        prepared: PreparedOperation | None = None,
    ) -> Admitted | Answer:
        """The operation made ready to run, or the answer that refuses it (a request error).
        ``plan`` is the ``X-Bizgraph-Plan`` header's value, if the transport carries one;
        ``prepared``: the request's operation, when the transport already prepared it from
        the same request (``prepare``)."""
        try:
            request = await self.persisted.resolve(request, principal, state.database)
        except BizgraphError as refusal:
            return _refusal(refusal)
        if not self.may_introspect(principal) and uses_introspection(request.query or ""):
            error = GraphQLError("introspection is not allowed for your roles", extensions={"code": "FORBIDDEN"})
            return Answer(ExecutionResult(data=None, errors=[error]))
        # Parsed, validated and its variables coerced once, for the cost gate and the fast path.
        if prepared is None:
            prepared = self.prepare(request)
        try:
            mode = self._plan_mode(principal, plan, prepared)
        except BizgraphError as refusal:
            # Refused before anything is paid for or run, like an introspection refusal.
            return _refusal(refusal)
        # Priced (and paid for) before any connection is taken: a refusal runs no SQL.
        cost = await self._paid(self._price(principal, prepared, mutations_allowed=mutations_allowed))
        if isinstance(cost, Answer):
            return cost
        extensions = {"cost": cost.as_extension()} if cost is not None else None
        return Admitted(request, prepared, extensions, mode, cost=cost.requested if cost is not None else None)

    async def admit_planned(
        self, state: State, principal: Principal, request: GraphQLRequestData, planned: PlannedQuery
    ) -> Admitted | Answer:
        """``admit`` for a query whose plan was cached (``schema/plan_templates.py``): what it
        checked once for the same document, variables and roles (introspection, parsing,
        validation, the price) is not checked again; the rest is, and the price is paid."""
        try:
            request = await self.persisted.resolve(request, principal, state.database)
        except BizgraphError as refusal:
            return _refusal(refusal)
        cost = await self._paid(self._charge(principal, planned.cost))
        if isinstance(cost, Answer):
            return cost
        extensions = {"cost": cost.as_extension()} if cost is not None else None
        return Admitted(request, None, extensions, planned=planned, cost=planned.cost)

    def prepare(self, request: GraphQLRequestData) -> PreparedOperation | None:
        """The request's operation parsed, validated and its variables coerced (None: it will not
        run as sent), the request's trace getting spans for it."""
        record = current.get()
        trace = record.trace if record is not None else None
        return prepare_operation(
            self.graphql_schema, request.query, request.variables, request.operation_name, trace=trace
        )

    async def execute(
        self,
        state: State,
        context: Context,
        admitted: Admitted,
        allowed: frozenset[OperationType],
        *,
        verbatim: bool = False,
    ) -> Answer:
        """Runs an admitted query or mutation (``allowed`` the kinds its transport may run;
        strawberry raises ``InvalidOperationTypeError`` for another, for the transport to answer).
        ``verbatim``: the transport encodes the data with orjson, so the fast path may hand it
        PostgreSQL's JSON text unparsed (``schema/fastpath.py``)."""
        principal = context.principal
        if principal is None:
            raise RuntimeError("an operation runs only for a principal")
        # The one place an operation's database work begins and ends: closed once,
        # whether the operation answered, failed or was cancelled.
        # A query may read from a replica (one that had replayed past the client's latest
        # write); a mutation reads what it wrote on the primary.
        scope_of = self.operation_scope(
            state, principal, context.request_id, replica_reads=admitted.is_query, read_after=context.read_after
        )
        async with scope_of as scope:
            if admitted.plan is not None:
                scope.hold_one_snapshot()
            result = await self._run(scope, context.with_scope(scope), admitted, allowed, verbatim)
            if admitted.plan is not None and admitted.prepared is not None:
                # Explained in the operation's own read-only snapshot, before it closes.
                plan = await self.plans.report(admitted.prepared, scope, admitted.plan)
                result.extensions = {**(result.extensions or {}), "plan": plan}
        written = scope.written.position
        if any_code(result, DatabaseUnavailable.code):
            # Fields met an unreachable database: the answer says so, and when to retry.
            return Answer(result, status=503, retry_after=DatabaseUnavailable.retry_after_seconds, written=written)
        return Answer(result, written=written)

    async def _run(
        self,
        scope: OperationScope,
        context: Context,
        admitted: Admitted,
        allowed: frozenset[OperationType],
        verbatim: bool,
    ) -> ExecutionResult:
        """The operation's result: from the fast path when it answers, else field by field."""
        if self.fast_path is not None and OperationType.QUERY in allowed:
            record = current.get()
            if admitted.planned is not None:
                # Planned before: the fast path runs the plan, or (none) the standard way answers.
                plan = admitted.planned.plan
                answer = (
                    None if plan is None else await self.fast_path.execute(None, scope, verbatim=verbatim, plan=plan)
                )
            elif record is not None and record.trace is not None:
                answer = await traced_fast_path(self.fast_path, admitted.prepared, scope, record.trace, verbatim)
            else:
                answer = await self.fast_path.execute(admitted.prepared, scope, verbatim=verbatim)
            if record is not None and admitted.is_query:
                record.fast_path = answer is not None
            if answer is not None:
                errors = answer.errors or None
                return ExecutionResult(data=answer.data, errors=errors, extensions=admitted.extensions)
        result: ExecutionResult = await self.schema.execute(
            admitted.request.query,
            variable_values=admitted.request.variables,
            context_value=context,
            operation_name=admitted.request.operation_name,
            allowed_operation_types=allowed,
            operation_extensions=admitted.request.extensions,
        )
        if admitted.extensions is not None:
            result.extensions = {**(result.extensions or {}), **admitted.extensions}
        return result

    def _plan_mode(self, principal: Principal, raw: str | None, prepared: PreparedOperation | None) -> PlanMode | None:
        """The plan the request may have (None: none asked for); refuses what the roles do not allow."""
        mode = PlanMode.from_header(raw)
        if mode is None:
            return None
        if not may_use_tool("plan", principal.roles):
            raise Forbidden("your roles may not see query plans (X-Bizgraph-Plan)")
        if mode.analyze:
            if not may_use_tool("plan_analyze", principal.roles):
                raise Forbidden("your roles may not run EXPLAIN ANALYZE (X-Bizgraph-Plan: analyze)")
            if prepared is not None and prepared.kind is not OperationKind.QUERY:
                # ANALYZE executes what it explains: never a mutation's statements.
                raise Forbidden("EXPLAIN ANALYZE runs the statement: only for queries (use X-Bizgraph-Plan: 1)")
        return mode

    def operation_scope(
        self,
        state: State,
        principal: Principal,
        request_id: str,
        *,
        replica_reads: bool = False,
        read_after: int | None = None,
    ) -> OperationScope:
        """A new scope for one operation, over the application's database; the caller opens and closes it."""
        return OperationScope(
            state.database, principal, state.page_limits, request_id, replica_reads=replica_reads, read_after=read_after
        )

    def may_introspect(self, principal: Principal) -> bool:
        return self.introspection_roles is None or principal.has_any(self.introspection_roles)

    def response_of(self, result: ExecutionResult, request_id: str) -> GraphQLHTTPResponse:
        """The response body of a result (``schema.errors.response_body``)."""
        return response_body(result, request_id, suggestions=not self.schema.config.disable_field_suggestions)

    async def _price(
        self, principal: Principal, prepared: PreparedOperation | None, *, mutations_allowed: bool
    ) -> CostReport | None:
        if self.cost_gate is None:
            return None
        # A mutation over GET is refused (405) without being paid for.
        return await self.cost_gate.admit(principal, prepared, mutations_allowed=mutations_allowed)

    async def _paid(self, paying: Awaitable[CostReport | None]) -> CostReport | Answer | None:
        """What the operation was paid (None: it is not priced), or the answer that refuses it:
        over the maximum, or the principal's budget spent (429)."""
        try:
            return await paying
        except CostExceeded as refusal:
            return Answer(_refused(refusal, CostReport(refusal.cost, refusal.maximum)))
        except RateLimited as refusal:
            report = CostReport(refusal.cost, self._maximum_cost(), refusal.remaining)
            return Answer(_refused(refusal, report), status=429, retry_after=refusal.retry_after_seconds)

    async def _charge(self, principal: Principal, cost: int | None) -> CostReport | None:
        if self.cost_gate is None or cost is None:
            return None
        return await self.cost_gate.charge(principal, cost)

    def _maximum_cost(self) -> int:
        return self.cost_gate.maximum if self.cost_gate is not None else 0


def _refusal(refusal: BizgraphError) -> Answer:
    """Refused before it ran: a request error (no data), answered like any other."""
    return Answer(ExecutionResult(data=None, errors=[GraphQLError(refusal.message, original_error=refusal)]))


def _refused(refusal: CostExceeded | RateLimited, report: CostReport) -> ExecutionResult:
    error = GraphQLError(refusal.message, original_error=refusal)
    return ExecutionResult(data=None, errors=[error], extensions={"cost": report.as_extension()})


def is_request_error(result: ExecutionResult) -> bool:
    """The operation never ran: parsing, validation, variable coercion or a refusal before
    execution stopped it. graphql-core gives every error raised while executing a path (and then
    data, perhaps null); errors from before execution have none."""
    return result.data is None and bool(result.errors) and all(error.path is None for error in result.errors or ())


def any_code(result: ExecutionResult, code: str) -> bool:
    return any((error.extensions or {}).get("code") == code for error in result.errors or ())
