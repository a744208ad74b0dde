# The data role: databases and Ceph OSDs.
{%- set role = 'data' %}
{% include 'roles/_role.jinja' %}
{%- from 'roles/_peers.jinja' import peers as collect_peers with context %}
{%- set peers = [] %}{%- do collect_peers(role, peers) %}
{%- set stub = 'ceph-osd.conf' %}
{%- set body = ['[osd]', 'data_dir = ' ~ '/var/lib/eos/data', '# data peers: ' ~ peers|join(', ')] %}
{% include 'roles/_stub.jinja' %}
