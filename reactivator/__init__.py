"""reactivator: win back dormant customers by email."""

__version__ = "0.1.0"
