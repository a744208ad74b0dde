# `state.apply roles`: every role pillar eos:roles gives this node, then roles.absent for the
# ones it lost; the same states eos_roles.apply runs, in one call.
{%- set mine = salt['pillar.get']('eos:roles', {}).get(grains['id'], []) %}
include:
{%- for role in mine %}
  - roles.{{ role }}
{%- endfor %}
  - roles.absent
