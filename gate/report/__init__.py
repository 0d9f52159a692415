"""The outcome as Markdown (from the top-level templates/), JSON and JUnit."""
