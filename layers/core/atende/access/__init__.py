"""API keys and callers: key format, hashing, scopes, and authenticating a presented key."""
