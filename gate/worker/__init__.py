"""The durable gates worker."""
