"""The execution context every operation of the schema runs in: graphql-core's, without the
reference cycle it makes of itself.

graphql-core 3.3's executor hands resolvers ``async_helpers``, a pair of its own bound methods,
and keeps the pair as an attribute: executor → helpers → bound method → executor. A cycle is
never freed by reference counting, so after each operation the executor and everything it
reaches (the request's context, its operation scope, planners, collected fields, variable
values: about a hundred objects per mutation) wait for the cyclic collector. Under load that is
thousands of objects a second; each young collection then frees tens of thousands at once, and
the survivors of the requests in flight fill the older generations whose collections walk every
live subscription: measured at 10,000 subscribers and 100 writes/s, pauses of 120-220 ms every
4-5 s and of 0.5-1 s now and then, the whole event loop stopped for each.

Here the helpers reach the executor through a weak reference instead: while an operation runs,
its own frames hold the executor, and once it is over the executor goes when its last reference
does. (A per-event copy of an executor shares its helpers with the executor it was copied from,
as it does in graphql-core; that one lives as long as its stream.)
"""

from __future__ import annotations

import weakref
from collections.abc import Awaitable, Sequence
from typing import Any

from graphql import GraphQLResolveInfoHelpers
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext


class AcyclicExecutionContext(StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        executor = weakref.ref(self)

        def gather(values: Sequence[Awaitable[Any]]) -> Awaitable[list[Any]]:
            return _alive(executor).gather_async_work(values)

        def track(values: Sequence[Any]) -> None:
            _alive(executor).track_async_work(values)

        self.async_helpers = GraphQLResolveInfoHelpers(gather=gather, track=track)


def _alive(executor: weakref.ref[AcyclicExecutionContext]) -> AcyclicExecutionContext:
    alive = executor()
    if alive is None:  # only a resolver running after its operation ended could get here
        raise RuntimeError("the operation this resolver belongs to has ended")
    return alive
