"""Webhook target URLs: whatever a partner sends is refused as `url` or accepted as something httpx can send to
the address it was checked at; never an exception that becomes a 500 or kills a delivery job."""

from __future__ import annotations

import pytest

from divert_gateway.domain.webhooks import Target, TargetRefused, check_target, resolve_target


@pytest.mark.parametrize(
    "url",
    [
        "https://[::1",  # urlsplit's ValueError
        "https://127.0.0.1:99999/",  # .port's ValueError
        "https://1.1.1.1:-1/",
        "https://1.1.1.1/\u0001",  # accepted by urlsplit, refused by httpx when sending
        "https://1.1.1.1/a b",
    ],
)
@pytest.mark.parametrize("allow_private", [False, True])
def test_a_url_httpx_cannot_send_is_refused_as_invalid(url: str, allow_private: bool) -> None:
    with pytest.raises(TargetRefused):
        check_target(url, allow_private=allow_private)


@pytest.mark.parametrize(
    "url",
    [
        "https://[64:ff9b::a00:1]/hook",  # NAT64 of 10.0.0.1
        "https://[64:ff9b::808:808]/hook",  # NAT64 of a public address: still a tunnel chosen by the URL's writer
        "https://[2002:a00:1::1]/hook",  # 6to4 of 10.0.0.1
    ],
)
def test_nat64_and_6to4_targets_are_refused_outside_development(url: str) -> None:
    with pytest.raises(TargetRefused):
        check_target(url, allow_private=False)


def test_a_checked_target_is_requested_at_the_checked_address_with_its_name() -> None:
    target = resolve_target("https://1.1.1.1:8443/hook?x=1", allow_private=False)
    assert target.address == "1.1.1.1"
    pinned = Target("https://hooks.example.org:8443/divert?x=1", "93.184.216.34").request()
    assert pinned == (
        "https://93.184.216.34:8443/divert?x=1",
        {"host": "hooks.example.org:8443"},
        {"sni_hostname": "hooks.example.org"},
    )
    v6 = Target("https://hooks.example.org/divert", "2606:4700::1").request()
    assert v6[0] == "https://[2606:4700::1]/divert" and v6[1] == {"host": "hooks.example.org"}


def test_in_development_nothing_is_pinned() -> None:
    assert Target("http://127.0.0.1:9/hook").request() == ("http://127.0.0.1:9/hook", {}, {})
