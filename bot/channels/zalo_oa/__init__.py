"""The Zalo Official Account channel: OAuth v4 tokens, consultation messages, signed webhooks."""
