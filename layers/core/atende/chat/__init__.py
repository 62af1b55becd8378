"""Chat turns: requests, the turn itself and its steps, answers in the webhook and OpenAI shapes."""
