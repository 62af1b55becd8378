"""Developer tools for running and testing Atende locally; never shipped to Lambda."""
