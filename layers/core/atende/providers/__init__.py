"""Model providers: the OpenAI client with retries and failover, credentials, token counting."""
