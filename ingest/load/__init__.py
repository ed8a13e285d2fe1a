"""Load: accepted submissions into raw, versioned (COPY)."""
