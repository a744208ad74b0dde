# The observe role: Prometheus (Debian prometheus) scraping the node exporter of every node that
# holds a role (pillar eos:roles), with alert rules for Eos's storage levels.
{%- set role = 'observe' %}
{% include 'roles/_role.jinja' %}
{%- set mine = salt['pillar.get']('eos:roles', {}).get(grains['id'], []) %}
{%- if (role in mine or 'monolith' in mine) and salt['pillar.get']('eos:services:manage', True) %}
{%- from 'roles/_lib.jinja' import addr, port, lsb_service, role_fs with context %}
{%- set base = (salt['config.get']('eos_state_root') or opts.get('root_dir') or '/').rstrip('/') %}
{%- set me = grains['id'] %}
{%- set conf_dir = base ~ '/etc/eos/observe' %}
{%- set tsdb = salt['pillar.get']('eos:observe:tsdb_dir', base ~ '/var/lib/eos/observe/prometheus') %}
{%- set interval = salt['pillar.get']('eos:observe:scrape_interval', '15s') %}
{%- set targets = [] %}
{%- from 'roles/_peers.jinja' import plausible with context %}
{%- for node in salt['pillar.get']('eos:roles', {}) | sort %}{% if plausible(node) %}
{%- do targets.append(addr(node) ~ ':' ~ port(node, 'node_exporter')) %}{% endif %}
{%- endfor %}
include:
  - roles.node_exporter

eos-prometheus-pkg:
  pkg.installed:
    - name: {{ salt['pillar.get']('eos:packages:prometheus', 'prometheus') }}

{#- The TSDB: XFS (the database workload) when a device is given #}
{{ role_fs('eos-prometheus-tsdb', 'observe', tsdb, 'database') }}

eos-prometheus-rules:
  file.managed:
    - name: {{ conf_dir }}/eos-storage.rules.yml
    - source: salt://roles/files/eos-storage.rules.yml
    - check_cmd: promtool check rules
    - require:
      - file: eos-role-observe-dirs
      - pkg: eos-prometheus-pkg

eos-prometheus-config:
  file.managed:
    - name: {{ conf_dir }}/prometheus.yml
    - check_cmd: promtool check config --syntax-only
    - contents: |
        # Managed by Salt (salt://roles/observe.sls): targets follow pillar eos:roles.
        global:
          scrape_interval: {{ interval }}
          evaluation_interval: {{ interval }}
        rule_files:
          - {{ conf_dir }}/eos-storage.rules.yml
        scrape_configs:
          - job_name: node
            static_configs:
              - targets: {{ targets | json }}
    - require:
      - file: eos-role-observe-dirs
      - pkg: eos-prometheus-pkg

{{ lsb_service('eos-prometheus', 'prometheus', '/usr/bin/prometheus',
               '--config.file=' ~ conf_dir ~ '/prometheus.yml --storage.tsdb.path=' ~ tsdb ~
               ' --web.listen-address=' ~ addr(me) ~ ':' ~ port(me, 'prometheus'),
               'Prometheus (Eos observe role)',
               'http://' ~ addr(me) ~ ':' ~ port(me, 'prometheus') ~ '/-/ready',
               watch=['file: eos-prometheus-config', 'file: eos-prometheus-rules', 'file: eos-prometheus-tsdb'],
               workdir=tsdb,
               package_service='prometheus') }}
{%- endif %}
