"""Schema of the commitments app (models arrive with the commitments issue)."""
