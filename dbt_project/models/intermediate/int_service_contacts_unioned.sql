{{ config(materialized='view') }}
{#- Every contributing body's contacts in one shape, before person keys are attached: the
    bodies whose contribution macro (macros/contributions/<body>.sql) declares service
    contacts and whose agreement permits early intervention, the only purpose the contacts
    serve. Each body states its own severity rule (low / medium / high) there. A view, not
    ephemeral: fct_service_contact's post-hook reads it to find slices left with no rows. -#}
with

unioned as (
    {{ unioned_service_contacts('early_intervention') }}
)

select * from unioned
