"""One module per path served under ``/v1`` (and the pages at ``/``, ``/docs``, ``/redoc``)."""
