"""The error type for problems a user can fix (bad input, missing file, wrong option)."""


class UserError(Exception):
    """Bad input or configuration: the message says what was wrong, where, and what to do.

    The command line prints the message without a traceback and exits with status 2.
    """
