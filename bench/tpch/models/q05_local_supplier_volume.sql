-- TPC-H Q5 (local supplier volume): selective joins over six tables.
-- date '1994-01-01' + interval '1' year, precomputed.
select
    n.n_name,
    sum(l.l_extendedprice * (1 - l.l_discount)) as revenue
from {{ source('tpch', 'customer') }} as c
join {{ source('tpch', 'orders') }} as o on o.o_custkey = c.c_custkey
join {{ source('tpch', 'lineitem') }} as l on l.l_orderkey = o.o_orderkey
join {{ source('tpch', 'supplier') }} as s
    on s.s_suppkey = l.l_suppkey and s.s_nationkey = c.c_nationkey
join {{ source('tpch', 'nation') }} as n on n.n_nationkey = s.s_nationkey
join {{ source('tpch', 'region') }} as r on r.r_regionkey = n.n_regionkey
where r.r_name = 'ASIA'
    and o.o_orderdate >= date '1994-01-01'
    and o.o_orderdate < date '1995-01-01'
group by n.n_name
