"""GitHub: sans-I/O responses, the client, the sticky comment and publishing an outcome."""
