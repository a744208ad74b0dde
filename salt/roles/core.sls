# The core role: Consul, Nomad and Vault servers (quorum).
{%- set role = 'core' %}
{% include 'roles/_role.jinja' %}
{%- set peers = [] %}
{%- for node, roles in salt['pillar.get']('eos:roles', {}) | dictsort %}
{%- if 'core' in roles or 'monolith' in roles %}{% do peers.append(node) %}{% endif %}
{%- endfor %}
{%- set stub = 'consul.hcl' %}
{%- set body = ['server = true', 'bootstrap_expect = ' ~ peers|length, 'retry_join = ' ~ peers|tojson, '# nomad: server { enabled = true, bootstrap_expect = ' ~ peers|length ~ ' }', '# vault: raft storage, peers ' ~ peers|join(', ')] %}
{% include 'roles/_stub.jinja' %}
