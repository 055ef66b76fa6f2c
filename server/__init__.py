"""Kibitz server: an IRC server built on socketserver.ThreadingTCPServer."""

__version__ = "0.1.0"
