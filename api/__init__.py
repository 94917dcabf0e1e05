"""The HTTP face of the service: a Falcon WSGI app."""
