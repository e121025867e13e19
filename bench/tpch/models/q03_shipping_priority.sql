-- TPC-H Q3 (shipping priority), every group instead of the top 10.
select
    l.l_orderkey,
    sum(l.l_extendedprice * (1 - l.l_discount)) as revenue,
    o.o_orderdate,
    o.o_shippriority
from {{ source('tpch', 'customer') }} as c
join {{ source('tpch', 'orders') }} as o on o.o_custkey = c.c_custkey
join {{ source('tpch', 'lineitem') }} as l on l.l_orderkey = o.o_orderkey
where c.c_mktsegment = 'BUILDING'
    and o.o_orderdate < date '1995-03-15'
    and l.l_shipdate > date '1995-03-15'
group by l.l_orderkey, o.o_orderdate, o.o_shippriority
