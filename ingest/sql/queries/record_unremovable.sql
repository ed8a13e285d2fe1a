-- A processed inbox file the inbox does not let go: later runs skip it while it stays as it was.
insert into audit.inbox_unremovable (path, sha256, size_bytes, mtime_ns, inode, device,
                                     source_file, province_code, reason, run_id)
values (%(path)s, %(sha256)s, %(size_bytes)s, %(mtime_ns)s, %(inode)s, %(device)s,
        %(source_file)s, %(province_code)s, %(reason)s, %(run_id)s)
on conflict (path) do update
set sha256 = excluded.sha256,
    size_bytes = excluded.size_bytes,
    mtime_ns = excluded.mtime_ns,
    inode = excluded.inode,
    device = excluded.device,
    source_file = excluded.source_file,
    province_code = excluded.province_code,
    reason = excluded.reason,
    run_id = excluded.run_id,
    recorded_at = now()
