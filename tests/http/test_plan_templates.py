"""Kept plans (schema/plan_templates.py): a query planned once is answered for later requests of
its shape by binding only their keys, byte for byte as the general path answers each of them,
for every principal; what may not be bound anew never is."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import httpx
import pytest

from app.config import Settings
from resolvers.planner.ids import decode_id, encode_id
from schema.plan_templates import PlanTemplates
from tests.support.auth import bearer, token_for_user
from tests.support.graphql import running_app

Q1 = "query($id: ID!) { customer(id: $id) { id number name email creditLimit status accountManager { id } } }"
TWO = (
    "query Two($c: ID!, $o: ID!, $n: Int!) { c: customer(id: $c) { name } o: order(id: $o) { number total"
    " lines(first: $n) { nodes { quantity } } } }"
)
# The same variable twice: its value is structure here, never a bound key.
TWICE = "query($id: ID!) { a: customer(id: $id) { name } b: customer(id: $id) { number } }"
# A filter's text: bound anew like a lookup's key.
FILTERED = "query($n: String!) { customers(first: 2, filter: {name: {ilike: $n}}) { nodes { name } } }"
# A list of texts: structure, kept verbatim in the plan's key.
LISTED = "query($n: [String!]!) { customers(first: 2, filter: {name: {in: $n}}) { nodes { name } } }"

EMAILS = ["admin@acme.example", "sales@acme.example", "customer@acme.example", "employee@acme.example"]


@pytest.fixture(scope="module")
async def general(demo_settings):
    async with running_app(replace(demo_settings, lean_queries=False)) as (_, http):
        yield http


@pytest.fixture(scope="module")
async def lean(demo_settings):
    async with running_app(demo_settings) as (application, http):
        yield application, http


def _plans(application: Any) -> PlanTemplates:
    plans = application.state.plan_templates
    assert isinstance(plans, PlanTemplates)
    return plans


async def _post(http: httpx.AsyncClient, body: dict[str, Any], headers: dict[str, str]) -> httpx.Response:
    headers = {"content-type": "application/json", "x-request-id": "kept-plans", **headers}
    return await http.post("/graphql", content=httpx.Request("POST", "/", json=body).content, headers=headers)


def _comparable(response: httpx.Response) -> tuple[int, list[tuple[str, str]], bytes]:
    headers = sorted((name, value) for name, value in response.headers.items() if name not in ("date", "server"))
    return response.status_code, headers, response.content


async def _alike(
    http: httpx.AsyncClient, general: httpx.AsyncClient, body: dict[str, Any], headers: dict[str, str]
) -> bytes:
    """The lean path's answer, asserted equal (status, headers, bytes) to the general path's."""
    expected = _comparable(await _post(general, body, headers))
    assert _comparable(await _post(http, body, headers)) == expected, body
    return expected[2]


async def _ids(http: httpx.AsyncClient, headers: dict[str, str], root: str, count: int) -> list[str]:
    body = {"query": f"{{ {root}(first: {count}) {{ nodes {{ id }} }} }}"}
    answer = (await _post(http, body, headers)).json()
    return [node["id"] for node in answer["data"][root]["nodes"]]


@pytest.mark.parametrize("email", EMAILS)
async def test_later_lookups_bind_their_own_key_and_answer_as_the_general_path(demo_settings, lean, general, email):
    application, http = lean
    plans = _plans(application)
    headers = bearer(token_for_user(demo_settings, email))
    admin = bearer(token_for_user(demo_settings, "admin@acme.example"))
    # Rows the principal may see and rows it may not, one missing, one of another type, one garbled.
    ids = await _ids(general, admin, "customers", 40)
    ids += [encode_id("Customer", 2**62), encode_id("Order", 1), "bm9wZQ==", "not base64!"]
    hits_before = plans.lookups["hit"]
    answers = [await _alike(http, general, {"query": Q1, "variables": {"id": global_id}}, headers) for global_id in ids]
    # Every well-formed customer key after the second (which kept the plan) was a kept plan,
    # bound anew.
    assert plans.lookups["hit"] - hits_before >= 38
    # And they were different answers: the key reached the statement.
    assert len(set(answers[:40])) > 1
    # The refused keys (another type's, garbled) left the kept plan in place.
    hits = plans.lookups["hit"]
    await _post(http, {"query": Q1, "variables": {"id": ids[0]}}, headers)
    assert plans.lookups["hit"] == hits + 1


async def test_a_row_scope_holds_on_a_kept_plan(demo_settings, lean, general):
    _, http = lean
    sales = bearer(token_for_user(demo_settings, "sales@acme.example"))
    admin = bearer(token_for_user(demo_settings, "admin@acme.example"))
    own = set(await _ids(general, sales, "customers", 100))
    others = [global_id for global_id in await _ids(general, admin, "customers", 100) if global_id not in own]
    assert own and others
    statuses = []
    for global_id in [*sorted(own)[:3], *others[:3]]:
        answer = (await _post(http, {"query": Q1, "variables": {"id": global_id}}, sales)).json()
        statuses.append(answer.get("data") is not None and answer["data"]["customer"] is not None)
    # Their own accounts are read; everyone else's is NOT_FOUND, as if it did not exist.
    assert statuses == [True, True, True, False, False, False]


async def test_another_principal_with_the_same_roles_gets_a_plan_of_its_own(demo_settings, lean, general):
    # Two sales reps: the second's token names another employee. The first's kept plan (its
    # row scope anchored on its employee) must never answer for the second.
    _, http = lean
    first = bearer(token_for_user(demo_settings, "sales@acme.example"))
    admin = bearer(token_for_user(demo_settings, "admin@acme.example"))
    body = {"query": "{ employees(first: 5) { nodes { id } } }"}
    employees = [node["id"] for node in (await _post(general, body, admin)).json()["data"]["employees"]["nodes"]]
    own = await _ids(general, first, "customers", 1)
    for employee in employees:
        _, employee_id = decode_id(employee)
        second = bearer(token_for_user(demo_settings, "sales@acme.example", employee_id=employee_id))
        request = {"query": Q1, "variables": {"id": own[0]}}
        await _post(http, request, first)  # kept for the first rep
        await _alike(http, general, request, second)


async def test_several_lookups_and_structural_variables(demo_settings, lean, general):
    application, http = lean
    plans = _plans(application)
    admin = bearer(token_for_user(demo_settings, "admin@acme.example"))
    customers = await _ids(general, admin, "customers", 6)
    orders = await _ids(general, admin, "orders", 6)
    requests = [
        *(
            {"query": TWO, "variables": {"c": c, "o": o, "n": n}}
            for c, o in zip(customers, orders, strict=True)
            for n in (1, 3)
        ),
        *({"query": TWICE, "variables": {"id": c}} for c in customers),
        *({"query": FILTERED, "variables": {"n": n}} for n in ("%a%", "%e%", "%a%", "zz", "%Inc.%", "")),
        *({"query": LISTED, "variables": {"n": n}} for n in (["a"], ["b"], ["a"])),
    ]
    hits_before = plans.lookups["hit"]
    for body in requests:
        await _alike(http, general, body, admin)
    # TWO's keys were bound anew (the page size, structure, keyed two plans, each kept at its
    # second request), and FILTERED's text (kept at its second request); TWICE and LISTED are
    # kept by their values, so only their repeats could hit.
    assert plans.lookups["hit"] - hits_before >= 12


async def test_a_kept_plan_still_pays_for_each_request(demo_settings):
    # A budget of 7 per minute on a clock that stands still: lookups are answered (from the
    # third on by the kept plan) until the budget runs out, then refused, as plans made anew are.
    settings = replace(demo_settings, rate_limit_cost_per_minute=7)
    headers = bearer(token_for_user(demo_settings, "admin@acme.example"))
    body = {"query": Q1, "variables": {"id": encode_id("Customer", 1)}}
    async with running_app(settings, clock=lambda: 1_000_000.0) as (application, http):
        answers = [await _post(http, body, headers) for _ in range(6)]
        hits = _plans(application).lookups["hit"]
    cost = answers[0].json()["extensions"]["cost"]["requested"]
    paid = 7 // cost
    assert paid >= 3 and hits == 4
    assert [answer.status_code for answer in answers] == [200] * paid + [429] * (6 - paid)


async def test_the_maps_are_bounded(demo_settings):
    small = replace(demo_settings, plan_cache_entries=3)
    headers = bearer(token_for_user(demo_settings, "admin@acme.example"))
    async with running_app(small) as (app_of_three, http):
        kept = _plans(app_of_three)
        for count in range(1, 8):
            body = {"query": f"{{ customers(first: {count}) {{ nodes {{ name }} }} }}"}
            for _ in range(2):  # kept at its second request
                assert (await _post(http, body, headers)).status_code == 200
        assert len(kept) == 3
        # A document past the size bound is answered, and never kept.
        padding = " " * 20_000
        body = {"query": "{ customers(first: 1) { nodes { name } } }" + padding}
        for _ in range(3):
            assert (await _post(http, body, headers)).status_code == 200
        # Nor are variables past theirs.
        body = {"query": LISTED, "variables": {"n": [f"name {n:05}" for n in range(500)]}}
        for _ in range(3):
            assert (await _post(http, body, headers)).status_code == 200
        assert kept.lookups["hit"] == 0


def test_the_setting_turns_kept_plans_off(monkeypatch):
    monkeypatch.setenv("BIZGRAPH_PLAN_CACHE_ENTRIES", "0")
    assert Settings.from_env().plan_cache_entries == 0
    monkeypatch.setenv("BIZGRAPH_PLAN_CACHE_ENTRIES", "-1")
    with pytest.raises(Exception, match="BIZGRAPH_PLAN_CACHE_ENTRIES"):
        Settings.from_env()


async def test_a_plan_whose_statement_depends_on_the_key_is_never_kept(demo_settings, monkeypatch):
    # Were the planner ever to write a lookup's statement from its key (here: a space more for
    # odd keys), binding another key into the kept statement would be wrong: the check made
    # before keeping a shape (planning it again with another key) refuses to keep it.
    from dataclasses import replace as replaced

    from resolvers.reads import ReadService

    original = ReadService.plan_one

    def key_dependent(self, type_name, global_id, selection):
        planned = original(self, type_name, global_id, selection)
        _, pk = decode_id(global_id)
        return replaced(planned, plan=replaced(planned.plan, sql=planned.plan.sql + " " * (pk % 2)))

    monkeypatch.setattr(ReadService, "plan_one", key_dependent)
    headers = bearer(token_for_user(demo_settings, "admin@acme.example"))
    async with running_app(demo_settings) as (application, http):
        for pk in (1, 2, 3, 4, 5, 6):
            body = {"query": Q1, "variables": {"id": encode_id("Customer", pk)}}
            answer = (await _post(http, body, headers)).json()
            assert answer["data"]["customer"]["id"] == encode_id("Customer", pk)
        assert _plans(application).lookups["hit"] == 0


EXACT = "query($n: String!) { customers(first: 3, filter: {name: {eq: $n}}) { nodes { id name creditLimit } } }"


@pytest.mark.parametrize("email", ["admin@acme.example", "sales@acme.example"])
async def test_a_filters_text_is_bound_anew_and_answers_as_the_general_path(demo_settings, lean, general, email):
    application, http = lean
    plans = _plans(application)
    headers = bearer(token_for_user(demo_settings, email))
    admin = bearer(token_for_user(demo_settings, "admin@acme.example"))
    body = {"query": "{ customers(first: 10) { nodes { name } } }"}
    names = [
        node["name"]
        for who in (headers, admin)
        for node in (await _post(general, body, who)).json()["data"]["customers"]["nodes"]
    ]
    # Names the principal may see and may not (a sales rep's scope), one that matches nothing,
    # and texts PostgreSQL must take as text: quotes, a backslash, a percent sign, non-ASCII.
    texts = [*names, "nobody at all", "O'Brien \\\\ 100% ünïcode"]
    hits_before = plans.lookups["hit"]
    answers = [await _alike(http, general, {"query": EXACT, "variables": {"n": text}}, headers) for text in texts]
    assert plans.lookups["hit"] - hits_before >= len(texts) - 2
    assert len(set(answers)) > 2


async def test_a_plan_whose_statement_depends_on_a_filters_text_is_never_kept(demo_settings, monkeypatch):
    # As for a lookup's key: a statement written from the text itself (a space more for texts of
    # odd length) is found out by the check before keeping, and planned every time.
    from dataclasses import replace as replaced

    from resolvers.reads import ReadService

    original = ReadService.plan_connection

    def text_dependent(self, type_name, selection):
        planned = original(self, type_name, selection)
        text = ((selection.args.get("filter") or {}).get("name") or {}).get("eq") or ""
        return replaced(planned, plan=replaced(planned.plan, sql=planned.plan.sql + " " * (len(text) % 2)))

    monkeypatch.setattr(ReadService, "plan_connection", text_dependent)
    headers = bearer(token_for_user(demo_settings, "admin@acme.example"))
    async with running_app(demo_settings) as (application, http):
        for text in ("ab", "abc", "abcd", "abcde", "abcdef"):
            answer = (await _post(http, {"query": EXACT, "variables": {"n": text}}, headers)).json()
            assert answer["data"]["customers"]["nodes"] == []
        assert _plans(application).lookups["hit"] == 0


async def test_every_request_is_planned_at_most_once(demo_settings, monkeypatch):
    # A miss plans once, and what it planned is what runs: a query the fast path answers, one it
    # does not (`me`), and one too large to keep are each planned once per request, never twice.
    from schema.fastpath import FastPath

    planned: list[str] = []
    original = FastPath.plan

    def counting(self, prepared, reads):
        planned.append(prepared.operation.selection_set.selections[0].name.value)
        return original(self, prepared, reads)

    monkeypatch.setattr(FastPath, "plan", counting)
    headers = bearer(token_for_user(demo_settings, "admin@acme.example"))
    large = "{ customers(first: 1) { nodes { name } } }" + " " * 20_000
    async with running_app(demo_settings) as (_, http):
        for query in ("{ me { email } }", large):
            for _ in range(4):
                assert (await _post(http, {"query": query}, headers)).status_code == 200
    assert planned == ["me"] * 4 + ["customers"] * 4
