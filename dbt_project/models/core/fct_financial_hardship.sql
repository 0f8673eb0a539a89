{#- One row per person per month with any council tax support, housing benefit or council
    tax arrears record in that month's snapshot. In financial hardship = in arrears or
    receiving council tax support (a means-tested award). Keyed from the revenues and
    benefits records alone (macro keyed_person_records), so no other body is in its lineage. -#}
with

records as (
    {{ keyed_person_records(
        ['revenues_benefits'], purpose=['financial_inclusion', 'early_intervention']
    ) }}
),

council_tax_support as (
    select
        records.person_key,
        cts.period_start as month_start,
        records.uprn,
        cts.claim_status = 'active' as is_receiving,
        case when cts.claim_status = 'active' then cts.weekly_award end as weekly_amount
    from {{ ref('stg_revenues_benefits__council_tax_support') }} as cts
    inner join records
        on
            records.source_entity = 'council_tax_support'
            and cts.delivery_id = records.delivery_id
            and cts.source_row_number = records.source_row_number
),

housing_benefit as (
    select
        records.person_key,
        hb.period_start as month_start,
        records.uprn,
        hb.claim_status = 'in_payment' as is_receiving,
        case when hb.claim_status = 'in_payment' then hb.weekly_amount end as weekly_amount
    from {{ ref('stg_revenues_benefits__housing_benefit') }} as hb
    inner join records
        on
            records.source_entity = 'housing_benefit'
            and hb.delivery_id = records.delivery_id
            and hb.source_row_number = records.source_row_number
),

arrears as (
    select
        records.person_key,
        arr.period_start as month_start,
        records.uprn,
        arr.arrears_balance,
        arr.months_in_arrears,
        arr.recovery_stage,
        case arr.recovery_stage
            when 'reminder' then 1
            when 'final_notice' then 2
            when 'summons' then 3
            when 'liability_order' then 4
            when 'enforcement_agent' then 5
            else 0
        end as recovery_stage_rank
    from {{ ref('stg_revenues_benefits__arrears') }} as arr
    inner join records
        on
            records.source_entity = 'arrears'
            and arr.delivery_id = records.delivery_id
            and arr.source_row_number = records.source_row_number
),

person_months as (
    select
        person_key,
        month_start,
        uprn
    from council_tax_support
    union all
    select
        person_key,
        month_start,
        uprn
    from housing_benefit
    union all
    select
        person_key,
        month_start,
        uprn
    from arrears
),

located as (
    select
        person_key,
        month_start,
        max(uprn) as uprn
    from person_months
    group by person_key, month_start
),

cts_by_month as (
    select
        person_key,
        month_start,
        bool_or(is_receiving) as is_receiving,
        sum(weekly_amount)::numeric(10, 2) as weekly_amount
    from council_tax_support
    group by person_key, month_start
),

hb_by_month as (
    select
        person_key,
        month_start,
        bool_or(is_receiving) as is_receiving,
        sum(weekly_amount)::numeric(10, 2) as weekly_amount
    from housing_benefit
    group by person_key, month_start
),

arrears_by_month as (
    select
        person_key,
        month_start,
        sum(arrears_balance)::numeric(12, 2) as arrears_balance,
        max(months_in_arrears)::integer as months_in_arrears,
        max(recovery_stage_rank) as recovery_stage_rank
    from arrears
    group by person_key, month_start
),

final as (
    select
        md5(located.person_key || ':' || to_char(located.month_start, 'YYYY-MM')) as hardship_key,
        located.person_key,
        located.month_start,
        located.uprn,
        coalesce(cts_by_month.is_receiving, false) as receives_council_tax_support,
        cts_by_month.weekly_amount as council_tax_support_weekly,
        coalesce(hb_by_month.is_receiving, false) as receives_housing_benefit,
        hb_by_month.weekly_amount as housing_benefit_weekly,
        arrears_by_month.person_key is not null as in_council_tax_arrears,
        arrears_by_month.arrears_balance,
        arrears_by_month.months_in_arrears,
        case arrears_by_month.recovery_stage_rank
            when 1 then 'reminder'
            when 2 then 'final_notice'
            when 3 then 'summons'
            when 4 then 'liability_order'
            when 5 then 'enforcement_agent'
        end as recovery_stage,
        coalesce(arrears_by_month.recovery_stage_rank >= 3, false) as in_enforcement,
        (
            coalesce(cts_by_month.is_receiving, false)::integer
            + coalesce(hb_by_month.is_receiving, false)::integer
            + (arrears_by_month.person_key is not null)::integer
            + coalesce(arrears_by_month.recovery_stage_rank >= 3, false)::integer
        ) as hardship_score,
        (
            arrears_by_month.person_key is not null
            or coalesce(cts_by_month.is_receiving, false)
        ) as is_in_financial_hardship
    from located
    left join cts_by_month
        on
            located.person_key = cts_by_month.person_key
            and located.month_start = cts_by_month.month_start
    left join hb_by_month
        on
            located.person_key = hb_by_month.person_key
            and located.month_start = hb_by_month.month_start
    left join arrears_by_month
        on
            located.person_key = arrears_by_month.person_key
            and located.month_start = arrears_by_month.month_start
)

select * from final
