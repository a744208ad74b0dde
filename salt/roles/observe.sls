# The observe role: metrics and logs.
{%- set role = 'observe' %}
{% include 'roles/_role.jinja' %}
{%- from 'roles/_peers.jinja' import peers as collect_peers with context %}
{%- set peers = [] %}{%- do collect_peers(role, peers) %}
{%- set stub = 'prometheus.yml' %}
{%- set body = ['scrape_configs: []', '# observe peers: ' ~ peers|join(', ')] %}
{% include 'roles/_stub.jinja' %}
