"""The shell of trustshift: files, the warehouse, study configs, suites, flows and the CLI."""
