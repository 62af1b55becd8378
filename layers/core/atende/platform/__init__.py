"""Platform plumbing every function shares: AWS clients, settings, observability, errors, caches."""
