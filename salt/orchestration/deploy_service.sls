{#- One service through the three layers: pillar (checked) -> Terraform -> Nomad -> health ->
    Hecate route -> eos/deploy/<name>/done. Started by `salt-run eos_deploy.service NAME
    environment=ENV`, which passes pillar eos_deploy: {service, environment}. Each step is a
    runner call that records its result in the deploy's journal; when one fails, its undo
    state (onfail) takes back the steps done before it, in reverse, and fires
    eos/deploy/<name>/failed with the step and the reason. #}
{%- set d = pillar.get('eos_deploy', {}) %}
{%- set steps = ['validate', 'terraform', 'nomad', 'health', 'route', 'done'] %}
{%- for step in steps %}
eos-deploy-{{ step }}:
  salt.runner:
    - name: eos_deploy.step
    - step: {{ step }}
    - service: {{ d.get('service') | json }}
    - environment: {{ d.get('environment') | json }}
    {%- if not loop.first %}
    - require:
      - salt: eos-deploy-{{ loop.previtem }}
    {%- endif %}

eos-deploy-undo-{{ step }}:
  salt.runner:
    - name: eos_deploy.undo
    - service: {{ d.get('service') | json }}
    - environment: {{ d.get('environment') | json }}
    - onfail:
      - salt: eos-deploy-{{ step }}
{%- endfor %}
