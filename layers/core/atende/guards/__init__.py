"""Guards around a turn: moderation, PII redaction, and the output guard."""
