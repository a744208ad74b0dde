# The monolith role: a one-node cluster holds every role.
include:
  - roles.core
  - roles.data
  - roles.edge
  - roles.message
  - roles.observe
  - roles.compute
  - roles.app
{%- set role = 'monolith' %}
{% include 'roles/_role.jinja' %}
