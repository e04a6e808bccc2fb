"""What this machine has: the models inventory, ``extra_model_paths.yaml``, hashing and its
cache, installed node classes."""

__all__: list[str] = []
