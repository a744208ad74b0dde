# Take down what a node's lost roles ran, then remove their marks (pillar eos:roles; a
# monolith holds all). Services stop through Salt's service state. A lost data role drains its
# OSDs first (eos_ceph.osds_absent: out, PGs moved off and all active+clean, then stopped and
# purged; bounded by pillar eos:data:drain_wait, default 600 s); its marks stay until that has
# succeeded. The Raft peer is removed by the master (salt-run eos_vault.converge). A NATS node
# that leaves drops out of the others' routes when they apply roles.message again.
{%- from 'roles/_lib.jinja' import svc_name with context %}
{%- set base = (salt['config.get']('eos_state_root') or opts.get('root_dir') or '/').rstrip('/') %}
{%- set mine = salt['pillar.get']('eos:roles', {}).get(grains['id'], []) %}
{%- set services = {'core': ['openbao'], 'message': ['nats-server'], 'observe': ['prometheus']} %}
{%- for role in salt['eos_cluster.roles']() %}
{%- if role not in mine and not ('monolith' in mine) %}
{%- for service in services.get(role, []) %}
{%- set name = svc_name(service) %}
{%- if salt['file.file_exists']('/etc/init.d/' ~ name) %}
eos-role-{{ role }}-{{ service }}-dead:
  service.dead:
    - name: {{ name }}

eos-role-{{ role }}-{{ service }}-initd-absent:
  file.absent:
    - name: /etc/init.d/{{ name }}
    - require:
      - service: eos-role-{{ role }}-{{ service }}-dead
{%- endif %}
{%- endfor %}
{%- set osd_root = salt['pillar.get']('eos:ceph:osd_data_root', base ~ '/var/lib/eos/data/osd') %}
{%- set drain = role == 'data' and salt['eos_ceph.local_osds'](osd_root) %}
{%- if drain %}

eos-role-data-osds-absent:
  eos_ceph.osds_absent:
    - name: {{ osd_root | json }}
    - wait: {{ salt['pillar.get']('eos:data:drain_wait', 600) | json }}
{%- endif %}

eos-role-{{ role }}-absent:
  file.absent:
    - names:
      - {{ base }}/etc/eos/roles/{{ role }}
      - {{ base }}/etc/eos/{{ role }}
{%- if drain %}
    - require:
      - eos_ceph: eos-role-data-osds-absent
{%- endif %}

eos-role-{{ role }}-grain-absent:
  grains.list_absent:
    - name: eos_roles
    - value: {{ role }}
{%- if drain %}
    - require:
      - eos_ceph: eos-role-data-osds-absent
{%- endif %}
{%- endif %}
{%- endfor %}
{%- if not mine %}
eos-roles-none:
  test.succeed_without_changes:
    - comment: {{ (grains['id'] ~ " holds no role in pillar eos:roles") | tojson }}
{%- endif %}
