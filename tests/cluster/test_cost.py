"""Cost per trial: the price table, a trial's share of its node, and which instance type a node is."""

from __future__ import annotations

import http.server
import json
import threading
from pathlib import Path

import pytest

from tunelake.cluster import aws
from tunelake.cluster.aws import INSTANCE_TYPES, this_instance_type
from tunelake.cluster.cost import price_table, trial_cost

HOUR = 3600.0


def test_the_price_table_is_dated_sourced_and_prices_every_instance_type_tunelake_sizes():
    table = price_table()
    assert table.label == "aws-us-east-1@2026-01-19"
    assert table.source.startswith("https://github.com/aws/karpenter-provider-aws/blob/")
    assert set(table.prices) == set(INSTANCE_TYPES)
    assert all(0 < p < 200 for p in table.prices.values())
    data = json.loads(Path(aws.__file__).with_name("prices.json").read_text())
    assert {"version", "region", "currency", "unit", "source", "source_note"} <= set(data)


@pytest.mark.parametrize("instance, cpus, gpus, share", [
    ("g5.xlarge", 1, 0.5, 0.5),  # half the one GPU dominates a quarter of the vCPUs
    ("g5.xlarge", 4, 0.5, 1.0),  # every vCPU: the whole node
    ("g4dn.12xlarge", 1, 1, 0.25),
    ("p3.16xlarge", 32, 1, 0.5),  # half the vCPUs dominate one GPU of 8
    ("m5.xlarge", 1, 0, 0.25),
    ("m5.large", 4, 0, 1.0),  # more than the node: never more than the node's price
])
def test_a_trial_pays_its_dominant_share_of_its_node(instance, cpus, gpus, share):
    cost = trial_cost(1800, cpus, gpus, instance)
    assert cost.cost_usd == pytest.approx(share * price_table().prices[instance] * 0.5)
    assert (cost.cpu_hours, cost.gpu_hours) == (pytest.approx(cpus * 0.5), pytest.approx(gpus * 0.5))
    assert cost.price_table == "aws-us-east-1@2026-01-19"


@pytest.mark.parametrize("instance", [None, "", "laptop", "x9.huge"])
def test_an_unknown_node_has_hours_but_no_price(instance):
    cost = trial_cost(HOUR, 2, 1, instance)
    assert (cost.cpu_hours, cost.gpu_hours, cost.cost_usd, cost.price_table) == (2.0, 1.0, None, None)


class _IMDS(http.server.BaseHTTPRequestHandler):
    """EC2's instance metadata service as IMDSv2 answers: a token by PUT, then only requests that carry it."""

    TOKEN = "tok-123"
    hits: list[str] = []

    def do_PUT(self):  # noqa: N802
        self.hits.append("PUT " + self.path)
        if self.path != "/latest/api/token" or not self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
            self.send_error(400)
            return
        self._reply(self.TOKEN)

    def do_GET(self):  # noqa: N802
        self.hits.append("GET " + self.path)
        if self.headers.get("X-aws-ec2-metadata-token") != self.TOKEN:
            self.send_error(401)
            return
        if self.path != "/latest/meta-data/instance-type":
            self.send_error(404)
            return
        self._reply("g5.2xlarge")

    def _reply(self, text: str) -> None:
        body = text.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def imds():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _IMDS)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _IMDS.hits = []
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(autouse=True)
def fresh(monkeypatch):
    for name in (aws.INSTANCE_TYPE_VARIABLE, "AWS_EC2_METADATA_SERVICE_ENDPOINT", "AWS_EC2_METADATA_DISABLED"):
        monkeypatch.delenv(name, raising=False)
    this_instance_type.cache_clear()
    yield
    this_instance_type.cache_clear()


def test_the_instance_type_comes_from_imds_v2_with_its_token(monkeypatch, imds):
    monkeypatch.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds)
    assert this_instance_type() == "g5.2xlarge"
    assert _IMDS.hits == ["PUT /latest/api/token", "GET /latest/meta-data/instance-type"]


def test_a_named_instance_type_wins_and_imds_is_not_asked(monkeypatch, imds):
    monkeypatch.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds)
    monkeypatch.setenv(aws.INSTANCE_TYPE_VARIABLE, "p3.2xlarge")
    assert this_instance_type() == "p3.2xlarge"
    assert _IMDS.hits == []


def test_imds_turned_off_is_not_asked(monkeypatch, imds):
    monkeypatch.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    assert this_instance_type() is None
    assert _IMDS.hits == []


def test_a_silent_metadata_endpoint_gives_up(monkeypatch):
    import socket

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)  # accepts the connection, never answers
    try:
        monkeypatch.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", f"http://127.0.0.1:{silent.getsockname()[1]}")
        assert this_instance_type() is None  # its timeout, not a hang (pytest-timeout would fail it)
    finally:
        silent.close()


def test_off_ec2_nothing_is_asked(monkeypatch):
    monkeypatch.setattr(aws, "_DMI", ("/nonexistent/sys_vendor",))
    monkeypatch.setattr(aws, "_ask_imds", lambda *a, **k: pytest.fail("asked IMDS off EC2"))
    assert this_instance_type() is None


def test_cluster_prices_lists_the_table_with_its_source(capsys):
    from tunelake.platform.cli.main import main

    assert main(["cluster", "prices"]) == 0
    out = capsys.readouterr().out
    assert "aws-us-east-1@2026-01-19" in out and price_table().source in out.replace("\n", "")
    assert all(name in out for name in INSTANCE_TYPES)
