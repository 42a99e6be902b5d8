"""The project's errors that are the user's to fix (input data, config, model spec, a teacher that
does not answer): their message names the file, line or key and says what is expected, so a job
shows the message alone, and its traceback only in the log."""


class AkdError(Exception):
    """Base of every error whose message is written for the user."""
