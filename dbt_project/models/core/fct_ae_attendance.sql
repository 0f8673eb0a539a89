{#- One row per emergency department attendance, keyed to the regional person, and placed at
    the property identity resolution matched the attendance's own address to. Keyed from the
    acute trust's records alone (macro keyed_person_records), so no other body is in its
    lineage. -#}
with

attendances as (
    select
        *,
        row_number() over (
            partition by attendance_id order by loaded_at desc, source_row_number desc
        ) as record_rank
    from {{ ref('stg_acute_trust__ae_attendances') }}
),

records as (
    {{ keyed_person_records(['acute_trust'], purpose='housing_condition') }}
),

properties as (
    select * from {{ ref('dim_property') }}
),

final as (
    select
        attendances.attendance_id,
        records.person_key,
        attendances.arrived_at,
        attendances.arrival_date as attendance_date,
        date_trunc('month', attendances.arrival_date)::date as attendance_month,
        attendances.diagnosis_group,
        coalesce(attendances.diagnosis_group = 'respiratory', false) as is_respiratory,
        attendances.acuity,
        attendances.disposal,
        coalesce(attendances.disposal = 'admitted', false) as is_admitted,
        (extract(year from attendances.arrival_date)::integer - attendances.birth_year)
            as age_years,
        attendances.sex_code,
        records.uprn,
        properties.lsoa_code
    from attendances
    inner join records
        on
            attendances.delivery_id = records.delivery_id
            and attendances.source_row_number = records.source_row_number
    left join properties on records.uprn = properties.uprn
    where attendances.record_rank = 1
)

select * from final
