"""Command-line pieces shared by the ``innosim`` commands (see ``sim.cli``)."""
