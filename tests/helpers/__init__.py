"""Test helpers shared by several test modules (importable as `helpers`: tests/ is on sys.path)."""
