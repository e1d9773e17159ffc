"""Built-in components: each policy (robots, retry, redirect, ...) in its own module."""
