{#- Reactor for eos/storage/threshold/<level>, fired by the eos_storage beacon when a mount's
    level changes. The master maps the level to its action:

      warning    the event only
      compress   eos_storage.compress on the minion (rotated logs, pillar eos:storage:compress)
      cleanup    eos_storage.cleanup on the minion (pillar eos:storage:cleanup allowlist)
      degraded   eos_storage.cleanup level=degraded, and eos_services.stop_noncritical:
                 the services pillar eos:storage:degraded:services lists for the node's roles
      emergency  eos_storage.emergency: expand (size auto) when an expansion path exists,
                 otherwise the aggressive cleanup (eos_storage.cleanup level=emergency);
                 non-critical services stay stopped (or are stopped now)
      critical   eos/storage/escalation on the master's bus for a human; no deletion;
                 non-critical services stay stopped (or are stopped now)
      ok         nothing (recovery)

    Falling from degraded or above to a lower level runs eos_services.restore, which starts
    the services Eos stopped once no mount of the node is at degraded or above any more.

    Enable on the master:
      reactor:
        - 'eos/storage/threshold/*':
          - salt://reactor/storage_threshold.sls
-#}
{%- set level = tag.split('/')[-1] %}
{%- set figures = data.get('data', {}) %}
{%- set pressure = ('degraded', 'emergency', 'critical') %}
{%- if level == 'emergency' and figures.get('target') %}
eos_storage_threshold_emergency:
  local.eos_storage.emergency:
    - tgt: {{ data['id'] | yaml_dquote }}
    - args:
      - target: {{ figures['target'] | yaml_dquote }}
{%- elif level == 'compress' %}
eos_storage_threshold_compress:
  local.eos_storage.compress:
    - tgt: {{ data['id'] | yaml_dquote }}
{%- elif level in ('cleanup', 'degraded', 'emergency') %}
eos_storage_threshold_cleanup:
  local.eos_storage.cleanup:
    - tgt: {{ data['id'] | yaml_dquote }}
    - args:
      - level: {{ level }}
{%- elif level == 'critical' %}
eos_storage_threshold_escalate:
  runner.event.send:
    - args:
      - tag: eos/storage/escalation
      - data:
          id: {{ data['id'] | yaml_dquote }}
          target: {{ figures.get('target', '') | yaml_dquote }}
          level: critical
          used_pct: {{ figures.get('used_pct', 0) }}
          inodes_pct: {{ figures.get('inodes_pct') | yaml }}
          message: {{ ("storage on " ~ data['id'] ~ " is at critical; no automatic deletion at this level") | yaml_dquote }}
{%- endif %}
{%- if level in pressure %}
eos_storage_threshold_stop_services:
  local.eos_services.stop_noncritical:
    - tgt: {{ data['id'] | yaml_dquote }}
    - args:
      - reason: {{ ("storage " ~ level ~ " on " ~ figures.get('target', '?')) | yaml_dquote }}
{%- elif figures.get('previous') in pressure %}
eos_storage_threshold_restore_services:
  local.eos_services.restore:
    - tgt: {{ data['id'] | yaml_dquote }}
{%- endif %}
