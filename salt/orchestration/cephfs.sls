# Form a Ceph cluster with CephFS across minions (salt-run state.orchestrate orchestration.cephfs
# pillar='{"eos": {"cephfs": {"nodes": ["node1", "node2", "node3"]}}}').
# The eos_ceph runner does the ordered steps; it raises on the first failed step, which fails
# this orchestration (and `salt-run` exits non-zero).
{%- set cfg = salt['pillar.get']('eos:cephfs', {}) %}
eos-ceph-create-cephfs:
  salt.runner:
    - name: eos_ceph.create_cephfs
    - nodes: {{ cfg.get('nodes', []) | json }}
    - fs_name: {{ cfg.get('name', 'cephfs') | json }}
{%- if cfg.get('mon_addrs') %}
    - mon_addrs: {{ cfg['mon_addrs'] | json }}
{%- endif %}
{%- if cfg.get('devices') %}
    - devices: {{ cfg['devices'] | json }}
{%- endif %}
    - wait: {{ cfg.get('wait', 180) }}
