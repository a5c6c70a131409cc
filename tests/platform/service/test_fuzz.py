"""Property-based: whatever a client sends, the service answers without a 500."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.slow

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)
spec_like = st.fixed_dictionaries(
    {},
    optional={
        "code_github": json_values, "command": st.text(max_size=40) | json_values,
        "primary_result_key": json_values, "search": st.dictionaries(st.text(max_size=8), json_values, max_size=3),
        "optimizer": st.dictionaries(st.sampled_from(["algorithm", "scheduler", "num_samples", "seed", "type"]),
                                     json_values, max_size=3),
        "resources": json_values, "model_storage": json_values, "mode": json_values, "metrics": json_values,
    },
)
ids = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=60)
FAST = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))


@FAST
@given(body=spec_like | json_values)
def test_validate_never_500s(client, body):
    response = client.post("/experiments/validate", json=body)
    assert response.status_code in (200, 422), response.text


@FAST
@given(raw=st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_raw_bodies_never_500(client, raw):
    response = client.post("/experiments/validate", content=raw)
    assert response.status_code in (200, 422), response.text


@FAST
@given(experiment_id=ids, sort=st.sampled_from(["value", "trial_id", "bogus"]), limit=st.integers(-5, 10_000))
def test_ids_and_paging_never_500(client, experiment_id, sort, limit):
    quoted = quote(experiment_id, safe="")
    for path in (f"/experiments/{quoted}", f"/experiments/{quoted}/trials"):
        response = client.get(path, params={"sort": sort, "limit": limit})
        assert response.status_code in (200, 404, 422), (path, response.text)


@FAST
@given(query=st.text(max_size=200) | st.sampled_from(["SELECT 1", "SHOW TABLES", "SELECT * FROM trials LIMIT 3"]))
def test_sql_never_500s(client, query):
    response = client.post("/sql", json={"query": query})
    assert response.status_code in (200, 400, 422), response.text
