{#- Node addition, started by salt://reactor/node_join.sls with pillar eos_join:id.
    As it renders, a join that finds another join's eos_roles.apply settling hands itself to
    that run (eos_roles.join), which prepares all the joins it holds in one job per step, and
    this orchestration does nothing more: at fleet size, five steps per join on the reactor's
    ten worker threads were most of the time to converge. Otherwise every step has a timeout
    and requires the one before: a failure fails the orchestration (and fires
    eos/cluster/join/failed). The roles step either applies the roles or, when another run is
    settling by then, hands this join to it and ends at once. The run that applies the roles
    fires eos/cluster/roles/changed with joined: <id>, or eos/cluster/join/failed. -#}
{%- set mid = salt['pillar.get']('eos_join:id') %}
{%- set settle = salt['pillar.get']('eos_join:settle', salt['pillar.get']('eos:cluster:join_settle', 5)) %}
{%- set attempts = salt['pillar.get']('eos_join:wait_attempts', 6) %}
{%- set trigger = salt['pillar.get']('eos_join:trigger', '') %}
{%- set early = salt['saltutil.runner']('eos_roles.join', minion_id=mid, trigger=trigger,
                                        wait_attempts=attempts, test=opts.get('test', False)) if mid else None %}
{%- if not mid %}
eos-join-needs-an-id:
  test.fail_without_changes:
    - comment: "orchestration.node_addition needs pillar eos_join:id (the joining minion)"
{%- elif early is mapping and early.get('handed_to') %}
eos-join-handed-over:
  test.succeed_without_changes:
    - comment: {{ ("handed to the eos_roles.apply settling in process %s: it prepares %s with the other joins it holds, calculates after them and announces the join"
                   | format(early.handed_to, mid)) | tojson }}
{%- else %}
{#- First: a settling eos_roles.apply waits for this join to reach it, so joins started
    together end in one calculation however long their sync and grains take. #}
eos-join-started:
  salt.runner:
    - name: eos_roles.joining
    - minion_id: {{ mid | tojson }}

eos-join-wait-for-minion:
  salt.function:
    - name: test.ping
    - tgt: [{{ mid | tojson }}]
    - tgt_type: list
    - timeout: 10
    - retry:
        attempts: {{ attempts }}
        interval: 5

{#- refresh=False: the next step's refresh_grains reloads the modules, the grains and the
    pillar; sync_all's own refresh would compile the minion's pillar once more per join. #}
eos-join-sync:
  salt.function:
    - name: saltutil.sync_all
    - tgt: [{{ mid | tojson }}]
    - tgt_type: list
    - kwarg:
        refresh: False
    - timeout: 120
    - require:
      - salt: eos-join-wait-for-minion

eos-join-refresh-grains:
  salt.function:
    - name: saltutil.refresh_grains
    - tgt: [{{ mid | tojson }}]
    - tgt_type: list
    - timeout: 60
    - require:
      - salt: eos-join-sync

eos-join-roles:
  salt.runner:
    - name: eos_roles.apply
    - settle: {{ settle }}
    - timeout: 15
    - state_timeout: 300
    - lock_timeout: 900
    - fire: False
    - joining: {{ mid | tojson }}
    - trigger: {{ trigger | tojson }}
    - require:
      - salt: eos-join-refresh-grains

eos-join-abandoned:
  salt.runner:
    - name: eos_roles.joining
    - minion_id: {{ mid | tojson }}
    - done: True
    - onfail:
      - salt: eos-join-wait-for-minion
      - salt: eos-join-sync
      - salt: eos-join-refresh-grains

eos-join-failed:
  salt.runner:
    - name: event.send
    - tag: eos/cluster/join/failed
    - data:
        id: {{ mid | tojson }}
    - onfail:
      - salt: eos-join-wait-for-minion
      - salt: eos-join-sync
      - salt: eos-join-refresh-grains
      - salt: eos-join-roles
{%- endif %}
