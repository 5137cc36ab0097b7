-- Set one VES stream's head after a bulk load (scripts/build_log_stream.py). Index: counter pkey.
INSERT INTO sequence_counters (tenant_id, store_id, stream_kind, current_sequence)
VALUES (%(tenant_id)s, %(store_id)s, 2, %(head)s)
ON CONFLICT (tenant_id, store_id, stream_kind) DO UPDATE SET current_sequence = excluded.current_sequence
