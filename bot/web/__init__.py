"""The one HTTP server: webhooks (each with its own secret), /healthz, later signed file links."""
