"""`flask` commands for operators."""


def register_commands(app):
    """Attach Folio's commands to `app.cli`."""
