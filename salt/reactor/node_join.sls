{#- Node join. Wire it in the master config (see salt/reactor/eos_reactor.conf):
      salt/minion/*/start, eos/cluster/join -> the node-addition orchestration
      salt/auth (a pending key)             -> eos_roles.accept_key: accepted only when pillar
                                               eos:cluster:auto_accept is true (default off)
    Joins are serialized and debounced in eos_roles.apply (lock + settle), so ten minions
    starting together end in one consistent assignment. -#}
{%- set mid = data.get('id') %}
{%- if tag == 'salt/auth' %}
{%- if mid and data.get('act') == 'pend' %}
eos-accept-key-{{ mid }}:
  runner.eos_roles.accept_key:
    - args:
      - minion_id: {{ mid | tojson }}
{%- endif %}
{%- elif mid and (tag == 'eos/cluster/join' or (tag.startswith('salt/minion/') and tag.endswith('/start'))) %}
eos-node-join-{{ mid }}:
  runner.state.orchestrate:
    - args:
      - mods: orchestration.node_addition
      - pillar:
          eos_join:
            id: {{ mid | tojson }}
            trigger: {{ tag | tojson }}
{%- endif %}
