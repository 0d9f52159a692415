"""Roboflow's model-evals API: sans-I/O responses (`api`) and the aiohttp client (`client`)."""
