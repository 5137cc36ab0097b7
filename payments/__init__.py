"""x402 payment intents: sequenced, batched and settled on an EVM chain (docs/payments.md)."""
