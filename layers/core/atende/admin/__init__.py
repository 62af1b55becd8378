"""Configuration behind the config function: tenants, bots, keys, credentials and limits."""
