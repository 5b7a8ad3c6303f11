"""The HTTP interface: the FastAPI app, its routes and how they answer (see :mod:`api.http.app`)."""
