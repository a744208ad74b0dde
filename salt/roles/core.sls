# The core role: Consul, Nomad and Vault servers (quorum).
{%- set role = 'core' %}
{% include 'roles/_role.jinja' %}
{%- from 'roles/_peers.jinja' import peers as collect_peers with context %}
{%- set peers = [] %}{%- do collect_peers(role, peers) %}
{%- set stub = 'consul.hcl' %}
{%- set body = ['server = true', 'bootstrap_expect = ' ~ peers|length, 'retry_join = ' ~ peers|tojson, '# nomad: server { enabled = true, bootstrap_expect = ' ~ peers|length ~ ' }', '# vault: raft storage, peers ' ~ peers|join(', ')] %}
{% include 'roles/_stub.jinja' %}
