# The edge role: reverse proxy.
{%- set role = 'edge' %}
{% include 'roles/_role.jinja' %}
{%- set peers = [] %}
{%- for node, roles in salt['pillar.get']('eos:roles', {}) | dictsort %}
{%- if 'edge' in roles or 'monolith' in roles %}{% do peers.append(node) %}{% endif %}
{%- endfor %}
{%- set stub = 'Caddyfile' %}
{%- set body = ['# reverse proxy: caddy run --config Caddyfile', '# edge peers: ' ~ peers|join(', ')] %}
{% include 'roles/_stub.jinja' %}
