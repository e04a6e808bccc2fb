"""The doctor's checks (``checks``): where everything is and whether it works."""
