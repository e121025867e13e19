-- TPC-H Q18 (large volume customer): orders of more than 300 units, every row.
select
    c.c_name,
    c.c_custkey,
    o.o_orderkey,
    o.o_orderdate,
    o.o_totalprice,
    sum(l.l_quantity) as sum_qty
from {{ source('tpch', 'customer') }} as c
join {{ source('tpch', 'orders') }} as o on o.o_custkey = c.c_custkey
join {{ source('tpch', 'lineitem') }} as l on l.l_orderkey = o.o_orderkey
where o.o_orderkey in (
    select big.l_orderkey
    from {{ source('tpch', 'lineitem') }} as big
    group by big.l_orderkey
    having sum(big.l_quantity) > 300
)
group by c.c_name, c.c_custkey, o.o_orderkey, o.o_orderdate, o.o_totalprice
