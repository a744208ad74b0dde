"""Hecate's route grammar (eos/hecate/spec.py) and its Caddy JSON round trip
(eos/hecate/config.py), without Caddy: what is accepted, what is refused and how it is quoted,
and that every valid table read back from its rendered config is the same table."""
import pytest
from hypothesis import given, settings, strategies as st

from eos.hecate import config, spec

GOOD_DOMAINS = ["example.com", "a.b.example", "*.example.com", "localhost", "x-1.example"]
BAD_DOMAINS = ["app example.com", "a.*.b", "*", "**.example", "a*.example", "App.example",
               "a..b", ".a", "a.", "-a.example", "a-.example", "é.example", "a" * 64 + ".x",
               "a;b.example", ""]
GOOD_UPSTREAMS = ["127.0.0.1:8080", "[::1]:9000", "backend.local:80", "web-1:65535"]
BAD_UPSTREAMS = ["http://;rm -rf /", "127.0.0.1:99999", "127.0.0.1:0", "127.0.0.1", ":80",
                 "[::1", "[zz::1]:80", "a b:80", "http://x:80", "x:80/path", "x:+80", "x:٣"]


@pytest.mark.parametrize("value", GOOD_DOMAINS)
def test_good_domains(value):
    assert spec.domain(value) == value


@pytest.mark.parametrize("value", BAD_DOMAINS)
def test_bad_domains_are_refused_and_quoted(value):
    with pytest.raises(spec.SpecError) as err:
        spec.domain(value)
    assert repr(value)[:60] in str(err.value)


@pytest.mark.parametrize("value", GOOD_UPSTREAMS)
def test_good_upstreams(value):
    assert spec.upstream(value) == value


@pytest.mark.parametrize("value", BAD_UPSTREAMS)
def test_bad_upstreams_are_refused_and_quoted(value):
    with pytest.raises(spec.SpecError) as err:
        spec.upstream(value)
    assert repr(value) in str(err.value)


def test_quote_shows_undecodable_bytes_and_is_bounded():
    assert spec.quote("r\udcff") == "'r\\xff'"
    assert len(spec.quote("x" * 10000)) < 230


def test_table_limits_and_duplicates():
    up = ["127.0.0.1:80"]
    with pytest.raises(spec.SpecError, match="10000 given, at most 2000"):
        spec.route_table({f"r{i}": {"domains": [f"r{i}.x"], "upstreams": up} for i in range(10000)})
    with pytest.raises(spec.SpecError, match="'a' is given twice"):
        spec.route_table([{"name": "a", "domains": ["a.x"], "upstreams": up},
                          {"name": "a", "domains": ["b.x"], "upstreams": up}])
    with pytest.raises(spec.SpecError, match="'a.x' is in route 'a' and in route 'b'"):
        spec.route_table({"a": {"domains": ["a.x"], "upstreams": up},
                          "b": {"domains": ["a.x"], "upstreams": up}})
    with pytest.raises(spec.SpecError, match="unknown key"):
        spec.route_table({"a": {"domains": ["a.x"], "upstreams": up, "upstream": up}})


label = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?", fullmatch=True)
route = st.fixed_dictionaries({
    "domains": st.lists(st.builds(lambda a, b: f"{a}.{b}", label, label), min_size=1, max_size=3, unique=True),
    "upstreams": st.lists(st.builds(lambda p: f"127.0.0.1:{p}", st.integers(1, 65535)),
                          min_size=1, max_size=3, unique=True),
    "tls": st.sampled_from(spec.TLS_MODES),
    "health_uri": st.sampled_from([None, "/health", "/h?x=1"]),
    "headers": st.dictionaries(st.from_regex(r"X-[A-Za-z0-9]{1,8}", fullmatch=True),
                               st.from_regex(r"[ -~]{0,20}", fullmatch=True), max_size=2),
})


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(label, route, max_size=5))
def test_rendered_tables_read_back_the_same(raw):
    try:
        table = spec.route_table(raw)
    except spec.SpecError:   # the same domain drawn for two routes
        return
    stt = config.settings_defaults()
    cfg = config.render({"admin": {"listen": "unix//x"}}, table, stt)
    back = config.routes(cfg, stt)
    assert {n: {k: v for k, v in s.items() if k != "by_hand"} for n, s in back.items()} == table
    assert not any(s["by_hand"] for s in back.values())
    assert cfg["admin"] == {"listen": "unix//x"} and config.unmanaged(cfg) == []
