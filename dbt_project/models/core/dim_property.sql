{#- One row per property (UPRN) in the latest address gazetteer, with its areas. -#}
with

gazetteer as (
    select
        *,
        row_number() over (
            partition by uprn order by source_period desc, loaded_at desc
        ) as recency_rank
    from {{ ref('stg_reference__gazetteer') }}
    where uprn is not null
),

social_housing as (
    select distinct uprn
    from {{ ref('stg_housing_provider__tenancies') }}
    where uprn is not null
),

final as (
    select
        gazetteer.uprn,
        gazetteer.address_line,
        gazetteer.town,
        gazetteer.postcode,
        gazetteer.postcode_district,
        gazetteer.property_type,
        coalesce(gazetteer.property_type <> 'commercial', true) as is_residential,
        gazetteer.lsoa_code,
        gazetteer.ward_code,
        gazetteer.local_authority_code,
        gazetteer.easting,
        gazetteer.northing,
        social_housing.uprn is not null as is_social_housing,
        gazetteer.source_period as gazetteer_period
    from gazetteer
    left join social_housing on gazetteer.uprn = social_housing.uprn
    where gazetteer.recency_rank = 1
)

select * from final
