"""innosim: system-dynamics planning of a city's innovation ecosystem."""

__version__ = "0.1.0"
