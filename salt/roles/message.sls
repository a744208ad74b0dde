# The message role: message bus.
{%- set role = 'message' %}
{% include 'roles/_role.jinja' %}
{%- from 'roles/_peers.jinja' import peers as collect_peers with context %}
{%- set peers = [] %}{%- do collect_peers(role, peers) %}
{%- set stub = 'nats.conf' %}
{%- set body = ['cluster { routes = ' ~ peers|tojson ~ ' }'] %}
{% include 'roles/_stub.jinja' %}
