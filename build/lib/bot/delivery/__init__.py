"""The delivery engine: durable outbox, one dispatcher, smooth rate limits; all sends go here."""
