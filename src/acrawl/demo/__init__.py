"""The bundled demo and benchmark sites and their built-in spiders."""
