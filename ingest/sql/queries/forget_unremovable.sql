-- A kept file that is gone (the operator removed it) or changed (new bytes: taken again).
delete from audit.inbox_unremovable where path = %(path)s
