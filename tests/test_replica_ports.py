"""Where `DIVERT_REPLICAS=N` puts each process: no port twice, and one replica changes nothing."""

from __future__ import annotations

import pytest

from divert_devstack.stack import APPS, SERVICES, Ports, Stack, replicas_from_env
from divert_kernel.bus import servers


def test_one_replica_listens_where_the_single_process_always_did(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DIVERT_SERVICE_BASE_PORT", "9101")
    for setting in ("DIVERT_REPLICAS", "DIVERT_DATABASE_URL", "DIVERT_NATS_URL"):
        monkeypatch.delenv(setting, raising=False)
    ports = Ports.from_env()
    assert [ports.replica_ports(s) for s in SERVICES] == [[9101 + i] for i in range(len(SERVICES))]
    stack = Stack(tmp_path, ports)
    assert stack.process_names("referral") == ["referral"]
    assert set(stack.ports_to_bind()) == {"gateway", *SERVICES, "PostgreSQL", "NATS"}


def test_n_replicas_take_n_ports_each_after_the_fronts_none_twice(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DIVERT_SERVICE_BASE_PORT", "9101")
    monkeypatch.setenv("DIVERT_REPLICAS", "3")
    ports = Ports.from_env()
    bound = Stack(tmp_path, ports).ports_to_bind()
    assert len(set(bound.values())) == len(bound)  # no port given to two processes
    replicas = [p for app in APPS for p in ports.replica_ports(app)]
    first = 9101 + len(SERVICES)
    assert replicas == list(range(first, first + 3 * len(APPS)))  # right after the service fronts
    assert bound["referral-2"] == ports.replica_ports("referral")[1] and bound["gateway-3"] == replicas[-1]


@pytest.mark.parametrize("value", ["0", "17", "two", "-1"])
def test_a_replica_count_that_is_not_1_to_16_is_refused(value: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DIVERT_REPLICAS", value)
    with pytest.raises(ValueError, match="DIVERT_REPLICAS"):
        replicas_from_env()


def test_a_nats_cluster_takes_client_ports_then_route_ports_all_checked(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    for setting in ("DIVERT_DATABASE_URL", "DIVERT_NATS_URL"):
        monkeypatch.delenv(setting, raising=False)
    monkeypatch.setenv("DIVERT_NATS_PORT", "9400")
    monkeypatch.setenv("DIVERT_NATS_CLUSTER", "3")
    ports = Ports.from_env()
    assert ports.nats_ports() == [9400, 9401, 9402] and ports.nats_route_ports() == [9403, 9404, 9405]
    bound = Stack(tmp_path, ports).ports_to_bind()
    assert {bound[n] for n in ("NATS", "NATS 2", "NATS 3", "NATS route 1", "NATS route 3")} >= {9400, 9402, 9405}
    monkeypatch.setenv("DIVERT_NATS_CLUSTER", "2")  # an even cluster has no majority to lose a node with
    with pytest.raises(ValueError, match="DIVERT_NATS_CLUSTER"):
        Ports.from_env()


def test_a_nats_url_may_list_a_clusters_servers() -> None:
    assert servers("nats://u:p@127.0.0.1:1, nats://u:p@127.0.0.1:2,") == [
        "nats://u:p@127.0.0.1:1",
        "nats://u:p@127.0.0.1:2",
    ]
    assert servers("nats://127.0.0.1:4222") == ["nats://127.0.0.1:4222"]
