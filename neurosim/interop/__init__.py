"""Bridges to other simulators (optional imports: the core works without them)."""
