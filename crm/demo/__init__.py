"""Deterministic demo data: `generate_demo_data` (docs/demo-data.md).

profiles.py holds the knobs (named constants) and timeline.py the local calendars. The
generator is pure (no database, no clock): generator.py drives it chunk by chunk with the
steps of funnel.py (leads), accounts.py (customers' sales), engagement.py (touchpoints,
chats), agents.py (skills, routing) and campaigns.py (plans, messages), writing rows through
records.py; pricing.py makes the products and the pricing history (quotes, competitor prices,
earlier list prices). loader.py feeds them to crm.ingestion.ingest_records.
"""
