# Nomad: servers on the core nodes, clients on the compute nodes (pillar eos:roles); included
# by roles.core and roles.compute when pillar eos:hashicorp:enabled is true (the default).
{%- from 'roles/_lib.jinja' import addr with context %}
{%- set me = grains['id'] %}
{%- set mine = salt['pillar.get']('eos:roles', {}).get(me, []) %}
{%- set base = (salt['config.get']('eos_state_root') or opts.get('root_dir') or '/').rstrip('/') %}
{%- from 'roles/_peers.jinja' import peers as collect_peers with context %}
{%- set servers = [] %}{%- do collect_peers('core', servers) %}
{%- set is_server = 'core' in mine or 'monolith' in mine %}
{%- set tool, role = 'nomad', ('core' if is_server else 'compute') %}
{%- set conf %}
datacenter = {{ salt['pillar.get']('eos:cluster:datacenter', 'eos') | json }}
name = {{ me | json }}
data_dir = {{ (base ~ '/var/lib/eos/' ~ role ~ '/nomad') | json }}
bind_addr = {{ addr(me) | json }}
{%- if is_server %}
server {
  enabled = true
  bootstrap_expect = {{ servers | length }}
  server_join {
    retry_join = {{ servers | reject('equalto', me) | map('string') | list | json }}
  }
}
{%- endif %}
{%- if 'compute' in mine or 'monolith' in mine %}
client {
  enabled = true
  node_class = "compute"
  servers = {{ servers | map('string') | list | json }}
}
{%- endif %}
consul {
  address = "{{ addr(me) }}:8500"
}
{%- endset %}
{% include 'roles/_hashicorp.jinja' %}
