# Consul servers on the core nodes (pillar eos:roles); included by roles.core when pillar
# eos:hashicorp:enabled is true (the default).
{%- from 'roles/_lib.jinja' import addr with context %}
{%- set me = grains['id'] %}
{%- set base = (salt['config.get']('eos_state_root') or opts.get('root_dir') or '/').rstrip('/') %}
{%- from 'roles/_peers.jinja' import peers as collect_peers with context %}
{%- set servers = [] %}{%- do collect_peers('core', servers) %}
{%- set tool, role = 'consul', 'core' %}
{%- set conf %}
datacenter = {{ salt['pillar.get']('eos:cluster:datacenter', 'eos') | json }}
node_name = {{ me | json }}
data_dir = {{ (base ~ '/var/lib/eos/core/consul') | json }}
bind_addr = {{ addr(me) | json }}
client_addr = {{ addr(me) | json }}
server = true
bootstrap_expect = {{ servers | length }}
retry_join = {{ servers | reject('equalto', me) | map('string') | list | json }}
ui_config {
  enabled = false
}
{%- endset %}
{% include 'roles/_hashicorp.jinja' %}
