"""Merkle commitments, RFC 6962 proofs, signed checkpoints, bundles and EVM anchoring (docs/commitments.md)."""
