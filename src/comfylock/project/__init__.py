"""The project value: settings, comfylock.toml, the lock, the workflows and the model paths of
one command, each loaded lazily and once (``loading.Project``)."""
