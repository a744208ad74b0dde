# The compute role: heavy workloads (a Nomad client, when pillar eos:hashicorp:enabled).
{%- set role = 'compute' %}
{% include 'roles/_role.jinja' %}
{%- set mine = salt['pillar.get']('eos:roles', {}).get(grains['id'], []) %}
{%- if (role in mine or 'monolith' in mine) and salt['pillar.get']('eos:services:manage', True) %}
include:
  - roles.node_exporter
{%- if salt['pillar.get']('eos:hashicorp:enabled', True) %}
  - roles.nomad
{%- endif %}
{%- endif %}
