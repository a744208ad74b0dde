# The data role: Ceph OSDs on this node's unused disks (grain eos_storage:unused_devices, as
# far as pillar eos:data:devices allows; eos_ceph.data_role checks the pillar), their data
# directories on a filesystem of their own when pillar eos:data:fs_device names one. The
# Ceph client configuration and key come from the secrets store (pillar
# eos:ceph:client_secret, a kv path), never through pillar or the Salt bus. Pillar
# eos:services:manage False leaves out the node exporter, not the OSDs.
{%- set role = 'data' %}
{% include 'roles/_role.jinja' %}
{%- set mine = salt['pillar.get']('eos:roles', {}).get(grains['id'], []) %}
{%- if role in mine or 'monolith' in mine %}
{%- from 'roles/_lib.jinja' import role_fs with context %}
{%- set base = (salt['config.get']('eos_state_root') or opts.get('root_dir') or '/').rstrip('/') %}
{%- set plan = salt['eos_ceph.data_role'](salt['pillar.get']('eos:ceph:osd_data_root', base ~ '/var/lib/eos/data/osd')) %}
{%- set secret = salt['pillar.get']('eos:ceph:client_secret', '') %}
{%- if salt['pillar.get']('eos:services:manage', True) %}
include:
  - roles.node_exporter
{%- endif %}

{#- OSD metadata (the data directories): XFS, the database workload #}
{{ role_fs('eos-ceph-osd-root', 'data', plan.data_root, 'database', mode='0755') }}

{%- if secret %}

eos-ceph-client:
  eos_ceph.client_present:
    - name: {{ secret | string | json }}
{%- endif %}
{%- for device in plan.devices %}

eos-ceph-osd-{{ loop.index }}:
  eos_ceph.osd_present:
    - name: {{ device | json }}
    - data_root: {{ plan.data_root | json }}
{%- if plan.crush_weight is not none %}
    - crush_weight: {{ plan.crush_weight }}
{%- endif %}
    - require:
      - file: eos-ceph-osd-root
{%- if secret %}
      - eos_ceph: eos-ceph-client
{%- endif %}
{%- else %}

eos-ceph-osd-none:
  test.succeed_without_changes:
    - comment: {{ ("no device for an OSD on " ~ grains['id'] ~ ": none unused that pillar eos:data:devices allows") | json }}
{%- endfor %}
{%- endif %}
