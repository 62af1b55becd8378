"""The HTTP side of every function: the resolver factory, the error envelope, the API documents."""
