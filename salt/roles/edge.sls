# The edge role: reverse proxy.
{%- set role = 'edge' %}
{% include 'roles/_role.jinja' %}
{%- from 'roles/_peers.jinja' import peers as collect_peers with context %}
{%- set peers = [] %}{%- do collect_peers(role, peers) %}
{%- set stub = 'Caddyfile' %}
{%- set body = ['# reverse proxy: caddy run --config Caddyfile', '# edge peers: ' ~ peers|join(', ')] %}
{% include 'roles/_stub.jinja' %}
