-- The wide fact: every lineitem row with its order's columns.
select
    l.*,
    o.o_custkey,
    o.o_orderstatus,
    o.o_totalprice,
    o.o_orderdate,
    o.o_orderpriority,
    o.o_clerk,
    o.o_shippriority
from {{ source('tpch', 'lineitem') }} as l
join {{ source('tpch', 'orders') }} as o on o.o_orderkey = l.l_orderkey
