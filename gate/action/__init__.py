"""The GitHub Action face: its inputs, the event, the runner's files and commands, the step
(config, gate, report, summary, comment, status, check run) and the process around it."""
