"""Schema of the payments app (models arrive with the payments issue)."""
