"""Alert hook URLs: public http(s) targets only, checked when added and again when sent."""

from __future__ import annotations

import asyncio

import pytest

from logsynergy_contracts import hook_urls
from logsynergy_contracts.hook_urls import AllowList, HookUrlError, check_hook_url
from logsynergy_workers.serving.hooks import HookSender

PUBLIC = "93.184.215.14"


def fixed(*addresses: str) -> hook_urls.Resolver:
    return lambda _host, _port: list(addresses)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://example.com/x", "http:// or https://"),
        ("gopher://93.184.215.14/", "http:// or https://"),
        ("http://example.com/a\r\nX-Injected: 1", "control characters"),
        ("http://example.com/a\nb", "control characters"),
        ("http://example.com/a b", "whitespace"),
        ("http://user:pw@example.com/", "user info"),
        ("http://@example.com/", "user info"),
        ("http:///path", "needs a host"),
        ("http://example.com:99999/", "malformed"),
        ("http://127.0.0.1:9/alerts", "non-public"),
        ("http://10.1.2.3/", "non-public"),
        ("http://172.16.0.1/", "non-public"),
        ("http://192.168.1.1/", "non-public"),
        ("http://169.254.169.254/latest/meta-data/", "non-public"),
        ("http://100.64.0.1/", "non-public"),
        ("http://0.0.0.0/", "non-public"),
        ("http://224.0.0.1/", "non-public"),
        ("http://240.0.0.1/", "non-public"),
        ("http://[::1]/", "non-public"),
        ("http://[::]/", "non-public"),
        ("http://[fe80::1]/", "non-public"),
        ("http://[fc00::1]/", "non-public"),
        ("http://[ff02::1]/", "non-public"),
        ("http://[::ffff:127.0.0.1]/", "non-public"),
    ],
)
def test_refused(url: str, reason: str) -> None:
    with pytest.raises(HookUrlError, match=reason):
        check_hook_url(url, resolver=fixed(PUBLIC))


@pytest.mark.parametrize("host", ["127.1", "0x7f000001", "2130706433", "localhost"])
def test_shorthand_addresses_are_resolved_as_the_client_would(host: str) -> None:
    with pytest.raises(HookUrlError, match="non-public"):
        check_hook_url(f"http://{host}:9/alerts")  # the real resolver: numeric and hosts-file names


def test_host_names_are_judged_by_every_address_they_resolve_to() -> None:
    assert check_hook_url("https://hooks.example.com/x", resolver=fixed(PUBLIC, "2606:4700::1"))
    with pytest.raises(HookUrlError, match=r"non-public address \(10.0.0.5\)"):
        check_hook_url("https://hooks.example.com/x", resolver=fixed(PUBLIC, "10.0.0.5"))

    def failing(_host: str, _port: int) -> list[str]:
        raise OSError("Name or service not known")

    with pytest.raises(HookUrlError, match="cannot resolve"):
        check_hook_url("https://nowhere.invalid/", resolver=failing)


def test_allow_list_admits_named_hosts_and_networks() -> None:
    allow = AllowList.parse("127.0.0.1, 10.0.0.0/8 hooks.internal,[::1]")
    assert check_hook_url("http://127.0.0.1:9/alerts", allow)
    assert check_hook_url("http://[::1]:9/alerts", allow)
    assert check_hook_url("http://Hooks.Internal/x", allow, resolver=fixed("192.168.0.9"))
    assert check_hook_url("http://svc.local/x", allow, resolver=fixed("10.9.9.9"))
    with pytest.raises(HookUrlError, match="non-public"):
        check_hook_url("http://192.168.0.1/", allow)
    with pytest.raises(HookUrlError, match="control"):
        check_hook_url("http://127.0.0.1/\r\n", allow)
    with pytest.raises(HookUrlError, match=r"LOGSYNERGY_HOOK_ALLOW_PRIVATE: '10\.0\.0\.0/99'"):
        AllowList.parse("10.0.0.0/99")
    assert AllowList.parse("") == AllowList() == AllowList.parse(None)


def test_the_sender_checks_again_before_each_delivery(monkeypatch: pytest.MonkeyPatch) -> None:
    """A host that resolved to a public address when the hook was added may point inside by now."""
    monkeypatch.setattr(hook_urls, "resolve", fixed("169.254.169.254"))
    monkeypatch.delenv(hook_urls.ALLOW_PRIVATE_ENV, raising=False)

    async def send() -> dict[str, int]:
        sender = HookSender(timeout_s=1.0, retries=0, dedup_s=0.0)
        sender.submit(
            ["http://rebound.example.com/x", "http://127.0.0.1:9/x"], "t", "s", "1", [{"events": []}]
        )
        await sender.drain()
        await sender.aclose()
        return sender.stats

    stats = asyncio.run(send())
    assert stats["refused"] == 2 and stats["attempts"] == 0 and stats["delivered"] == 0


def test_the_sender_reads_the_allow_list_from_its_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(hook_urls.ALLOW_PRIVATE_ENV, "127.0.0.0/8")
    assert HookSender(timeout_s=1.0, retries=0, dedup_s=0.0).allow == AllowList.parse("127.0.0.0/8")
