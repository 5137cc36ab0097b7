"""Pure-Python VES protocol library (no Django imports).

Clients, the offline verifier and the server import it. Byte formats follow
``docs/ves.md`` (restating the shared VES.md design note).
"""
