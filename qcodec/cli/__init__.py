"""The ``qcodec`` command line: thin typer commands over the library."""
