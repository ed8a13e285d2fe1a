-- The other databases of the server PUBLIC may still connect to and the current role may change
-- (it owns them or is a superuser): BI logins must open the warehouse database only.
select d.datname
from pg_database as d
where d.datname <> current_database()
    and d.datallowconn
    and exists (
        select 1
        from aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) as acl
        where acl.grantee = 0 and acl.privilege_type = 'CONNECT'
    )
    and (
        pg_has_role(d.datdba, 'USAGE')
        or (select rolsuper from pg_roles where rolname = current_user)
    )
order by d.datname
