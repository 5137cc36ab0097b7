-- How many commitments of every tenant are unanchored and given up after ANCHOR_MAX_ATTEMPTS
-- failed sends (components.anchor_service of /health/detailed). Index:
-- commitments_anchor_given_up_idx (partial: those rows only, normally none). Locks: none. Rows: 1.
SELECT count(*) FROM commitments WHERE anchor_given_up_at IS NOT NULL AND chain_tx_hash IS NULL
