"""The network edge: the one HTTP client, retries, tokens and redaction, the response
cache and the URL policy."""

__all__: list[str] = []
