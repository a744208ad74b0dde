# The message role: message bus.
{%- set role = 'message' %}
{% include 'roles/_role.jinja' %}
{%- set peers = [] %}
{%- for node, roles in salt['pillar.get']('eos:roles', {}) | dictsort %}
{%- if 'message' in roles or 'monolith' in roles %}{% do peers.append(node) %}{% endif %}
{%- endfor %}
{%- set stub = 'nats.conf' %}
{%- set body = ['cluster { routes = ' ~ peers|tojson ~ ' }'] %}
{% include 'roles/_stub.jinja' %}
