"""The operator audit log: who changed what, and when (one row per operator action)."""
