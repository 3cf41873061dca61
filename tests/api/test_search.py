"""Text search over test cases (`GET /tests?q=`): by index, with LIKE's semantics.

On SQLite an FTS5 trigram table kept in step by triggers answers `q` of 3 characters
or more; on PostgreSQL pg_trgm indexes do (migration 0005, assay.db.search). Either way
the answer must be what a case-insensitive substring match over title, description,
code and reference gives, stay right after every write, and treat `q` as text.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from assay.db.engine import Database
from tests.api.conftest import API, PASSING

Headers = dict[str, str]


@pytest.fixture
def search(client: TestClient, admin: Headers, project: dict[str, Any]) -> Any:
    """`search(q, **params)` → ids found in the project, `total` checked against them."""

    def run(q: str, **params: Any) -> set[str]:
        params.setdefault("project_id", project["id"])
        r = client.get(f"{API}/tests", headers=admin, params={"q": q, "limit": 200, **params})
        assert r.status_code == 200, (q, r.text)
        body = r.json()
        assert body["total"] == len(body["items"]), q
        return {t["id"] for t in body["items"]}

    return run


def _edit(client: TestClient, admin: Headers, case: dict[str, Any], **fields: Any) -> Any:
    r = client.patch(
        f"{API}/tests/{case['id']}", headers=admin, json={"version": case["version"], **fields}
    )
    assert r.status_code == 200, r.text
    return r.json()


def test_substrings_of_every_field_in_any_case(search: Any, new_test: Any) -> None:
    a = new_test(title="Checkout applies the DISCOUNT")
    b = new_test(title="logout", description="Ends the user's Session")
    c = new_test(title="cart", code="def test_cart():\n    assert 'Basket' != ''\n")
    d = new_test(title="ref", reference="tests/test_calc.py::test_add")
    # Long queries are answered by the index, short ones by a scan: the same answers.
    assert search("discount") == search("DISCOUNT") == search("disc") == {a["id"]}
    assert search("kout app") == {a["id"]}  # across words, inside words
    assert search("out") == {a["id"], b["id"]}
    assert search("SESSION") == search("r's s") == {b["id"]}  # description
    assert search("basket") == search("'basket' !=") == {c["id"]}  # code
    assert search("test_calc.py::test_a") == search("CALC.PY") == {d["id"]}  # reference
    assert search("test_ca") == {c["id"], d["id"]}  # `_` is a character, not a wildcard
    assert search("testXca") == set()
    assert search("ut") == {a["id"], b["id"]}  # two characters: below the trigram index
    assert search("sK") == {c["id"]}
    assert search("nowhere to be found") == set()
    assert search("discounts") == set()  # a substring match, not a word match


def test_index_follows_create_rename_edit_and_delete(
    client: TestClient, admin: Headers, search: Any, new_test: Any, db: Database
) -> None:
    case = new_test(title="Refund is rejected", description="for closed accounts")
    assert search("refund") == {case["id"]}

    case = _edit(client, admin, case, title="Chargeback is rejected")
    assert search("refund") == set()
    assert search("chargeback") == search("rejected") == {case["id"]}

    case = _edit(client, admin, case, description="when the card expired",
                 code="def test_expiry():\n    assert True\n")
    assert search("closed accounts") == set()
    assert search("card expired") == search("test_expiry") == {case["id"]}

    case = _edit(client, admin, case, code=None, reference="tests/test_pay.py::test_cb")
    assert search("test_expiry") == set()
    assert search("test_pay.py") == {case["id"]}

    # Edits that do not touch the text (status, tags, bulk) keep it found.
    case = _edit(client, admin, case, status="draft", tags=["pay"])
    r = client.post(f"{API}/tests/bulk", headers=admin,
                    json={"ids": [case["id"]], "priority": "high", "add_tags": ["x"]})
    assert r.status_code == 200, r.text
    assert search("chargeback") == {case["id"]}

    other = new_test(title="Chargeback appeal")
    assert search("chargeback") == {case["id"], other["id"]}
    assert client.delete(f"{API}/tests/{case['id']}", headers=admin).status_code == 204
    assert search("chargeback") == {other["id"]}
    assert search("test_pay.py") == set()

    if db.engine.dialect.name == "sqlite":
        with db.engine.begin() as conn:  # the index still agrees with its table
            conn.execute(text(
                "INSERT INTO test_cases_fts(test_cases_fts, rank) VALUES ('integrity-check', 1)"
            ))


def test_project_and_status_filters_still_apply(
    client: TestClient, admin: Headers, search: Any, new_test: Any, tmp_path: Any
) -> None:
    active = new_test(title="invoice totals")
    draft = new_test(title="invoice rounding", status="draft")
    archived = new_test(title="invoice legacy", status="archived")
    other_dir = tmp_path / "other"
    other_dir.mkdir()
    other = client.post(
        f"{API}/projects", headers=admin,
        json={"name": "other", "source": {"type": "path", "path": str(other_dir)}},
    ).json()
    r = client.post(f"{API}/tests", headers=admin,
                    json={"project_id": other["id"], "title": "invoice elsewhere",
                          "code": PASSING})
    elsewhere = r.json()

    live = {active["id"], draft["id"]}
    everything = live | {archived["id"]}
    found = search("invoice")
    assert found in (live, everything)  # archived cases may be hidden by default
    assert search("invoice", include_archived=True) == everything
    assert search("invoice", status="draft") == {draft["id"]}
    assert search("invoice", status="archived") == {archived["id"]}
    assert search("invoice", project_id=other["id"]) == {elsewhere["id"]}
    assert search("invoice", project_id="unknown") == set()
    r = client.get(f"{API}/tests", headers=admin, params={"q": "invoice",
                                                          "include_archived": True})
    assert {t["id"] for t in r.json()["items"]} == everything | {elsewhere["id"]}


def test_pages_of_a_search_are_whole_and_counted(
    client: TestClient, admin: Headers, project: dict[str, Any], new_test: Any
) -> None:
    made = {new_test(title=f"pager case {i:02}")["id"] for i in range(7)}
    new_test(title="not this one")
    for sort in ("created_at", "title"):
        seen: list[str] = []
        params: dict[str, Any] = {"project_id": project["id"], "q": "PAGER", "limit": 3,
                                  "sort": sort}
        while True:
            r = client.get(f"{API}/tests", headers=admin, params=params)
            assert r.status_code == 200, r.text
            assert r.json()["total"] == 7
            seen += [t["id"] for t in r.json()["items"]]
            assert len(seen) <= 7, (sort, seen)
            if not r.json()["next_cursor"]:
                break
            params["cursor"] = r.json()["next_cursor"]
        assert len(seen) == 7 and set(seen) == made, sort
    r = client.get(f"{API}/tests", headers=admin,
                   params={"project_id": project["id"], "q": "pager", "limit": 3, "offset": 6})
    assert r.json()["total"] == 7 and len(r.json()["items"]) == 1


SPECIAL = [
    '"', '""', '"quoted"', "'", "*", "ab*", "-", "-never", "a - b", "OR", "a OR b", "AND",
    "NOT x", "NEAR(a b)", "(", ")", "(now)", "^start", "title:x", "col : x", "{a b}", "+",
    "%", "_", "100%", "t%k", "\\", "a\\_b", ";", "--", "/*", "?", "$1", "\t", "   ",
    "Ünïcödé", "ÜNÏ", "日本語テスト", "🙂🙂🙂", "a\u0301", "\u200b", "x" * 200,
]


@pytest.mark.parametrize("q", SPECIAL)
def test_special_characters_are_text_never_an_error(search: Any, new_test: Any, q: str) -> None:
    plain = new_test(title="plain words only", description="(a + b)_c")
    expected = {plain["id"]} if any(
        q.lower() in field.lower() for field in (plain["title"], plain["description"], PASSING)
    ) else set()
    assert search(q) == expected


def test_special_characters_match_literally(search: Any, new_test: Any) -> None:
    odd = new_test(title='say "hi" (now) OR -never* 100%_done',
                   description="Ünïcödé and 日本語テスト 🙂🙂🙂 col: x")
    new_test(title="say hi now or never 100 done", description="unicode")
    for q in ['"hi"', '"hi" (now)', "(now) OR -never*", "-never*", "OR -", "100%_", "%_d",
              "ödé", "日本語", "本", "🙂🙂", "col: x"]:
        assert search(q) == {odd["id"]}, q
    assert search("hi now") != {odd["id"]}
    # Case folds beyond ASCII: PostgreSQL's lower(), SQLite's FTS5 (3 characters or more).
    assert search("üNï") == search("ÜNÏCÖDÉ") == {odd["id"]}


def test_nul_in_the_query_is_refused_or_found_nowhere(
    client: TestClient, admin: Headers, project: dict[str, Any], new_test: Any
) -> None:
    new_test(title="plain")
    r = client.get(f"{API}/tests", headers=admin,
                   params={"project_id": project["id"], "q": "pla\x00in"})
    assert r.status_code in (200, 422), r.text
    if r.status_code == 200:
        assert r.json()["items"] == []
