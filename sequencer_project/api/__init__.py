"""API plumbing shared by every app: errors, auth, tenancy, JSON parsing and rendering."""
