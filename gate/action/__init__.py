"""The GitHub Action face: inputs, the runner's files and commands, the entrypoint."""
