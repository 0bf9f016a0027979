"""The `hybridnets` command line: one subcommand module each."""
