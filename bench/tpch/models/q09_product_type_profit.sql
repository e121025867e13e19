-- TPC-H Q9 (product type profit): profit per nation and year for 'green' parts.
select
    profit.nation,
    profit.o_year,
    sum(profit.amount) as sum_profit
from (
    select
        n.n_name as nation,
        extract(year from o.o_orderdate) as o_year,
        l.l_extendedprice * (1 - l.l_discount) - ps.ps_supplycost * l.l_quantity as amount
    from {{ source('tpch', 'lineitem') }} as l
    join {{ source('tpch', 'part') }} as p on p.p_partkey = l.l_partkey
    join {{ source('tpch', 'supplier') }} as s on s.s_suppkey = l.l_suppkey
    join {{ source('tpch', 'partsupp') }} as ps
        on ps.ps_suppkey = l.l_suppkey and ps.ps_partkey = l.l_partkey
    join {{ source('tpch', 'orders') }} as o on o.o_orderkey = l.l_orderkey
    join {{ source('tpch', 'nation') }} as n on n.n_nationkey = s.s_nationkey
    where p.p_name like '%green%'
) as profit
group by profit.nation, profit.o_year
