"""Hecate: Eos's reverse-proxy layer on Caddy's admin API (JSON config, never Caddyfile text).

- ``spec``: route input (names, domains, upstreams, headers, TLS, health URI) checked strictly.
- ``admin``: the HTTP client of Caddy's admin endpoint (unix socket or loopback), with timeouts.
- ``config``: routes rendered into Caddy's JSON config and read back from it.
"""
