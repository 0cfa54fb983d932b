# SPDX-License-Identifier: LGPL-2.1-or-later
"""Python exception classes for the ``TETHER_ERROR`` domain.

Every ``Tether.Error`` code has a subclass of :class:`TetherError`, itself a
:class:`GLib.Error`: ``except GLib.Error`` and ``error.matches(
Tether.error_quark(), code)`` keep working, and ``except
Tether.NotRunningError`` says the same thing in one line. Errors raised by
the override's methods are made with :func:`new`; errors that come from C
are given their class with :func:`translate` before Python code sees them.
"""

from gi.module import get_introspection_module
from gi.repository import GLib

Tether = get_introspection_module('Tether')

_DOMAIN = GLib.quark_to_string(Tether.error_quark())


class TetherError(GLib.Error):
    """Base class of every error in the ``TETHER_ERROR`` domain.

    A :class:`GLib.Error` whose ``domain`` is Tether's and whose ``code`` is
    a ``Tether.Error`` value; catch a subclass to handle one condition.
    """

    code_value = None

    def __init__(self, message='unknown error', domain=_DOMAIN, code=None):
        if code is None:
            code = int(self.code_value) if self.code_value is not None else int(Tether.Error.FAILED)
        super().__init__(message, domain, code)

    def copy(self):
        return type(self)(self.message, self.domain, self.code)


class NotRunningError(TetherError):
    """The manager is not running, or has begun stopping (``NOT_RUNNING``)."""
    code_value = Tether.Error.NOT_RUNNING


class AlreadyRunningError(TetherError):
    """The manager is already running (``ALREADY_RUNNING``)."""
    code_value = Tether.Error.ALREADY_RUNNING


class ManagerNotFoundError(TetherError, LookupError):
    """No manager is registered for the id (``MANAGER_NOT_FOUND``).

    Also a :class:`LookupError`."""
    code_value = Tether.Error.MANAGER_NOT_FOUND


class UnknownTaskTypeError(TetherError):
    """The submission's task type is not the manager's (``UNKNOWN_TASK_TYPE``)."""
    code_value = Tether.Error.UNKNOWN_TASK_TYPE


class WouldDeadlockError(TetherError):
    """The wait could never end (``WOULD_DEADLOCK``); nothing was waited for."""
    code_value = Tether.Error.WOULD_DEADLOCK


class BusyError(TetherError):
    """The manager's queue is full (``BUSY``)."""
    code_value = Tether.Error.BUSY


class TimedOutError(TetherError, TimeoutError):
    """The wait ran out of time; the work goes on (``TIMED_OUT``).

    Also a :class:`TimeoutError`."""
    code_value = Tether.Error.TIMED_OUT


class InvalidArgumentError(TetherError, ValueError):
    """An argument combination that cannot be honoured (``INVALID_ARGUMENT``).

    Also a :class:`ValueError`."""
    code_value = Tether.Error.INVALID_ARGUMENT


class AbandonedError(TetherError):
    """The work dropped its ``Tether.Work`` without an outcome (``ABANDONED``)."""
    code_value = Tether.Error.ABANDONED


class FailedError(TetherError):
    """Work written in a language binding raised (``FAILED``)."""
    code_value = Tether.Error.FAILED


_CLASSES = {int(cls.code_value): cls for cls in (
    NotRunningError, AlreadyRunningError, ManagerNotFoundError,
    UnknownTaskTypeError, WouldDeadlockError, BusyError, TimedOutError,
    InvalidArgumentError, AbandonedError, FailedError)}

__all__ = ['TetherError'] + [cls.__name__ for cls in _CLASSES.values()]


def new(code, message):
    """A new error of ``code`` (a ``Tether.Error``), of its class."""
    return _CLASSES.get(int(code), TetherError)(message, _DOMAIN, int(code))


def translate(error):
    """``error`` as an instance of its class if it is a Tether error that
    does not have one yet; any other exception is returned unchanged."""
    if (type(error) is GLib.Error and error.domain == _DOMAIN
            and error.code in _CLASSES):
        translated = _CLASSES[error.code](error.message, error.domain, error.code)
        translated.__traceback__ = error.__traceback__
        return translated
    return error
