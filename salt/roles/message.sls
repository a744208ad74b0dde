# The message role: a NATS cluster (Debian nats-server) with JetStream across the message nodes
# (pillar eos:roles), each node routing to every other one.
{%- set role = 'message' %}
{% include 'roles/_role.jinja' %}
{%- set mine = salt['pillar.get']('eos:roles', {}).get(grains['id'], []) %}
{%- if (role in mine or 'monolith' in mine) and salt['pillar.get']('eos:services:manage', True) %}
{%- from 'roles/_lib.jinja' import addr, port, lsb_service, role_fs with context %}
{%- set base = (salt['config.get']('eos_state_root') or opts.get('root_dir') or '/').rstrip('/') %}
{%- set me = grains['id'] %}
{%- set store = salt['pillar.get']('eos:message:store_dir', base ~ '/var/lib/eos/message/jetstream') %}
{%- from 'roles/_peers.jinja' import peers as collect_peers with context %}
{%- set peers = [] %}{%- do collect_peers('message', peers, me) %}
include:
  - roles.node_exporter

eos-nats-pkg:
  pkg.installed:
    - name: {{ salt['pillar.get']('eos:packages:nats', 'nats-server') }}

{#- JetStream's message logs: BTRFS with zstd (the backup workload: append-only, compressible)
    when a device is given #}
{{ role_fs('eos-nats-store', 'message', store, 'backup') }}

eos-nats-config:
  file.managed:
    - name: {{ base }}/etc/eos/message/nats.conf
    - check_cmd: /usr/sbin/nats-server -t -c
    - contents: |
        # Managed by Salt (salt://roles/message.sls): routes follow pillar eos:roles.
        server_name: {{ me | json }}
        listen: "{{ addr(me) }}:{{ port(me, 'nats') }}"
        http: "{{ addr(me) }}:{{ port(me, 'nats_monitor') }}"
        jetstream {
          store_dir: {{ store | json }}
          max_memory_store: {{ salt['pillar.get']('eos:message:max_memory_store', '256MB') }}
          max_file_store: {{ salt['pillar.get']('eos:message:max_file_store', '10GB') }}
        }
{%- if peers %}
        cluster {
          name: {{ salt['pillar.get']('eos:message:cluster_name', 'eos') | json }}
          listen: "{{ addr(me) }}:{{ port(me, 'nats_cluster') }}"
          routes: [
{%- for p in peers %}
            "nats-route://{{ addr(p) }}:{{ port(p, 'nats_cluster') }}"
{%- endfor %}
          ]
        }
{%- endif %}
    - require:
      - file: eos-role-message-dirs
      - pkg: eos-nats-pkg

{{ lsb_service('eos-nats', 'nats-server', '/usr/sbin/nats-server',
               '-c ' ~ base ~ '/etc/eos/message/nats.conf',
               'NATS server (Eos message role)',
               'http://' ~ addr(me) ~ ':' ~ port(me, 'nats_monitor') ~ '/varz',
               watch=['file: eos-nats-config', 'file: eos-nats-store'],
               package_service='nats-server') }}
{%- endif %}
