"""Kibitz chat: the themed desktop IRC client."""

# The same release as the server's (server/__init__.py); the app may not import the server
# outside its protocol layer, so the number is written here too (a test keeps them equal).
__version__ = "0.1.0"
