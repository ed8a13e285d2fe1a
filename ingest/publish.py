"""After every ingest run and marts build: make what people read match the warehouse.

`lhpn run`, `lhpn rebuild` and the `lhpn_warehouse` DAG call `refresh_outputs`, so receipts,
reminders and pages are fresh even after a run that only rejected files (`lhpn docs` rebuilds
the pages alone).
"""

from __future__ import annotations


def refresh_outputs(run_id: str | None = None) -> dict:
    """Rewrite the receipts that quote the marts, withdraw the reminders of reports now
    accepted (contract §9), then rebuild the pages."""
    import psycopg

    from ingest import warehouse
    from ingest.outbox.receipts import refresh_receipts
    from ingest.outbox.reminders import withdraw_accepted
    from ingest.pages.site import build_site

    done: dict = {}
    with psycopg.connect(warehouse.warehouse_url(), autocommit=True) as conn:
        done["receipts"] = refresh_receipts(conn)
    done["reminders_withdrawn"] = withdraw_accepted()
    site = build_site(run_id)
    done["site"] = str(site) if site else None
    return done
