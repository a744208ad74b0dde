# The compute role: heavy workloads (Nomad client).
{%- set role = 'compute' %}
{% include 'roles/_role.jinja' %}
{%- set stub = 'nomad-client.hcl' %}
{%- set body = ['client { enabled = true, node_class = "compute" }'] %}
{% include 'roles/_stub.jinja' %}
