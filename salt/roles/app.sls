# The app role: everything else (Nomad client).
{%- set role = 'app' %}
{% include 'roles/_role.jinja' %}
{%- set stub = 'nomad-client.hcl' %}
{%- set body = ['client { enabled = true, node_class = "app" }'] %}
{% include 'roles/_stub.jinja' %}
