"""What the server and the app both speak: the line codec, numerics, name rules and TLS.

Nothing here imports the rest of the server, so the app can import this package alone.
"""
