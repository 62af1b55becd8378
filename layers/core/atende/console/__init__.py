"""The web console: static files served at /console by the config function."""
