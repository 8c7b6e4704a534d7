"""Channel adapters: they only translate between a platform and the flows."""
