-- The copy of mart_product_sales that the pg_materialize post-hook wrote to the
-- `replica` database must equal the mart in `warehouse`, row for row (EXCEPT ALL
-- both ways, through the two attached catalogs; a missing copy is an error).
-- Returns the rows found on one side only, with the side.
with warehouse as (

    select * from {{ ref('mart_product_sales') }}

),

replica as (

    select * from {{ source('replica', 'mart_product_sales') }}

),

only_in_warehouse as (

    select * from warehouse
    except all
    select * from replica

),

only_in_replica as (

    select * from replica
    except all
    select * from warehouse

)

select 'warehouse only' as side, * from only_in_warehouse
union all
select 'replica only' as side, * from only_in_replica
