# Every node with a role runs the Prometheus node exporter (Debian prometheus-node-exporter),
# with Eos's storage figures in its textfile collector (eos_storage.export_metrics, every
# minute through Salt's scheduler). Included by every role state.
{%- from 'roles/_lib.jinja' import addr, port, lsb_service with context %}
{%- set base = (salt['config.get']('eos_state_root') or opts.get('root_dir') or '/').rstrip('/') %}
{%- set me = grains['id'] %}
{%- set textfile = base ~ '/var/lib/eos/node-exporter' %}

eos-node-exporter-pkg:
  pkg.installed:
    - name: {{ salt['pillar.get']('eos:packages:node_exporter', 'prometheus-node-exporter') }}

eos-node-exporter-textfile:
  file.directory:
    - name: {{ textfile }}
    - makedirs: True
    - mode: '0755'

eos-node-exporter-metrics:
  module.run:
    - eos_storage.export_metrics:
      - directory: {{ textfile }}
    - onchanges:
      - file: eos-node-exporter-textfile

eos-node-exporter-schedule:
  schedule.present:
    - name: eos-storage-metrics
    - function: eos_storage.export_metrics
    - job_kwargs:
        directory: {{ textfile }}
    - seconds: 60
    - run_on_start: True
    - persist: False
{#- salt-call without a running minion (minion option eos_schedule_offline): no minion process
    to hand the job to, so it goes into schedule.conf for the next start #}
{%- if salt['config.get']('eos_schedule_offline', False) %}
    - offline: True
{%- endif %}

{{ lsb_service('eos-node-exporter', 'prometheus-node-exporter', '/usr/bin/prometheus-node-exporter',
               '--web.listen-address=' ~ addr(me) ~ ':' ~ port(me, 'node_exporter') ~
               ' --collector.textfile.directory=' ~ textfile,
               'Prometheus node exporter (Eos)',
               'http://' ~ addr(me) ~ ':' ~ port(me, 'node_exporter') ~ '/metrics',
               watch=['pkg: eos-node-exporter-pkg'],
               package_service='prometheus-node-exporter') }}
