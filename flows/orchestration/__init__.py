"""Prefect orchestration: flows, tasks, run records, artifacts, deployments and the watcher."""
