# Remove the marks of roles this node no longer holds (pillar eos:roles); a monolith holds all.
{%- set base = (salt['config.get']('eos_state_root') or opts.get('root_dir') or '/').rstrip('/') %}
{%- set mine = salt['pillar.get']('eos:roles', {}).get(grains['id'], []) %}
{%- for role in salt['eos_cluster.roles']() %}
{%- if role not in mine and not ('monolith' in mine) %}
eos-role-{{ role }}-absent:
  file.absent:
    - names:
      - {{ base }}/etc/eos/roles/{{ role }}
      - {{ base }}/etc/eos/{{ role }}

eos-role-{{ role }}-grain-absent:
  grains.list_absent:
    - name: eos_roles
    - value: {{ role }}
{%- endif %}
{%- endfor %}
{%- if not mine %}
eos-roles-none:
  test.succeed_without_changes:
    - comment: {{ (grains['id'] ~ " holds no role in pillar eos:roles") | tojson }}
{%- endif %}
