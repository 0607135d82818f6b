-- A self-contained model (no sources needed) exercising the kind of normalisation that
-- generated models do: trimmed, lower-cased emails and a typed signup date.
with raw as (
    select * from (values
        (1, '  Ada@Example.com ', '2024-01-15'),
        (2, 'grace@example.org', '2024-02-01')
    ) as t (contact_id, email, signed_up_on)
)

select
    contact_id,
    lower(trim(email)) as email,
    cast(signed_up_on as date) as signed_up_on
from raw
