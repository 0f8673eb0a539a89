{{ config(materialized='ephemeral') }}
{#- Every contributing body's contacts in one shape, before person keys are attached: the
    bodies whose contribution macro (macros/contributions/<body>.sql) declares service
    contacts and whose agreement permits early intervention, the only purpose the contacts
    serve. Each body states its own severity rule (low / medium / high) there. -#}
with

unioned as (
    {{ unioned_service_contacts('early_intervention') }}
)

select * from unioned
