# The data role: databases and Ceph OSDs.
{%- set role = 'data' %}
{% include 'roles/_role.jinja' %}
{%- set peers = [] %}
{%- for node, roles in salt['pillar.get']('eos:roles', {}) | dictsort %}
{%- if 'data' in roles or 'monolith' in roles %}{% do peers.append(node) %}{% endif %}
{%- endfor %}
{%- set stub = 'ceph-osd.conf' %}
{%- set body = ['[osd]', 'data_dir = ' ~ '/var/lib/eos/data', '# data peers: ' ~ peers|join(', ')] %}
{% include 'roles/_stub.jinja' %}
