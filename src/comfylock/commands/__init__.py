"""One module per subcommand; imported lazily by comfylock.cli."""
