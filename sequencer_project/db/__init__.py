"""Database helpers: SQL file loading, advisory-lock registry, partition management."""
