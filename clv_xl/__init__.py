"""clv-xl: what each client is worth over a lifetime, and who is about to leave."""

__version__ = "0.1.0"
