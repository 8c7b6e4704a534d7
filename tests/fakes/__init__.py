"""In-repo fakes of external services, for tests and benches (never talks to the real ones)."""
