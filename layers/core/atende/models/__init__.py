"""Pydantic models of Atende's API and domain, one module per area."""
