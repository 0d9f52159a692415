"""Roboflow's model-evals API: sans-I/O requests and responses (`api`) and its endpoints
over `gate.http`'s client (`client`)."""
