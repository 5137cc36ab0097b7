"""Writes of the events app. Import from the submodules (``events.services.ingest``)."""
