{#- Where each person lived in each month they appear in any record with a property: the
    property of their latest such record in the month. People at the same UPRN in the same
    month form a household. -#}
with

located_records as (
    select
        person_key,
        record_month as month_start,
        uprn,
        row_number() over (
            partition by person_key, record_month
            order by record_date desc, loaded_at desc, body asc, source_entity asc, record_id asc
        ) as recency_rank
    from {{ ref('int_person_records_keyed') }}
    where uprn is not null and record_month is not null
),

located as (
    select
        person_key,
        month_start,
        uprn,
        {{ household_key('uprn', 'month_start') }} as household_key
    from located_records
    where recency_rank = 1
)

select * from located
