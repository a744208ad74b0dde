# The observe role: metrics and logs.
{%- set role = 'observe' %}
{% include 'roles/_role.jinja' %}
{%- set peers = [] %}
{%- for node, roles in salt['pillar.get']('eos:roles', {}) | dictsort %}
{%- if 'observe' in roles or 'monolith' in roles %}{% do peers.append(node) %}{% endif %}
{%- endfor %}
{%- set stub = 'prometheus.yml' %}
{%- set body = ['scrape_configs: []', '# observe peers: ' ~ peers|join(', ')] %}
{% include 'roles/_stub.jinja' %}
