"""Configuration logic behind the config function: tenants, bots, keys and provider credentials."""
