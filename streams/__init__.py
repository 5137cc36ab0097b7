"""Streams: the gap-free sequence spaces every sequencing path shares (ADR 0001).

``streams.kinds`` names the kinds; ``streams.counters`` locks a stream's counter row;
``streams.classification`` decides each event's fate against the locked stream;
``streams.head_hints`` keeps the heads the web processes last saw, which the optimistic append
guesses from, and ``streams.turns`` lets them take turns on a contended stream (ADR 0038).
Both ingest paths (``events``) and x402 payments (``payments``) sequence through them, so
neither app reaches into the other for its numbers.
"""
