"""Load: a run's files into raw, versioned, with COPY (`submissions`; rejected files as
submissions with their findings), batch by batch and file by file when a batch fails (`retry`),
and the poison-file policy (`poison`)."""
