# SPDX-License-Identifier: LGPL-2.1-or-later
"""Python exception classes for the ``TETHER_ERROR`` domain.

Every ``Tether.Error`` code has a subclass of :class:`TetherError`, itself a
:class:`GLib.Error`: ``except GLib.Error`` and ``error.matches(
Tether.error_quark(), code)`` keep working, and ``except
Tether.NotRunningError`` says the same thing in one line. Errors raised by
the override's methods are made with :func:`new`.

Errors that come from C get their class where PyGObject makes them: every
``GLib.Error`` PyGObject creates, whatever the call (a method's ``throws``,
an async ``*_finish()`` in a callback, a ``GError`` returned as a value such
as ``Future.dup_error()``), is made by calling the ``GLib.Error`` class with
``(message, domain, code)``. :func:`install` gives that class a
``__new__`` that returns the code's subclass when the domain is Tether's,
and :class:`TetherError` rewrites the C function names in the message into
the Python calls (:func:`python_message`). So nothing is missed, no GI
method needs a wrapper, and a call that succeeds costs nothing more. Errors
of other domains are made as before (one Python-level ``__new__`` call more
per error made, about 0.2 us).
"""

import functools
import re

from gi.module import get_introspection_module
from gi.repository import GLib, Gio

Tether = get_introspection_module('Tether')

# G_IO_ERROR_CANCELLED, read once here, on the importing thread. PyGObject
# builds an enum's Python class on first use and fills in its members after
# publishing it, so a manager's thread that is first to read
# Gio.IOErrorEnum.CANCELLED while another thread builds the class can find
# the member missing (AttributeError, seen under load in
# test_adversarial_asyncio: the coroutine's work then never ended).
IO_CANCELLED = int(Gio.IOErrorEnum.CANCELLED)

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
        super().__init__(python_message(message), domain, code)

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


class WrongTypeError(TetherError, TypeError):
    """A typed getter was called on a future holding another type (``WRONG_TYPE``).

    Also a :class:`TypeError`."""
    code_value = Tether.Error.WRONG_TYPE


_CLASSES = {int(cls.code_value): cls for cls in (
    NotRunningError, AlreadyRunningError, ManagerNotFoundError,
    UnknownTaskTypeError, WouldDeadlockError, BusyError, TimedOutError,
    InvalidArgumentError, AbandonedError, FailedError, WrongTypeError)}

__all__ = ['TetherError'] + [cls.__name__ for cls in _CLASSES.values()]

# Shown as Tether.NotRunningError (in tracebacks too), where they are used.
for _cls in (TetherError, *_CLASSES.values()):
    _cls.__module__ = 'gi.repository.Tether'
del _cls


# What C messages say, as Python spells it. Phrases first, where the
# Python call is not the C function's name; then every remaining
# tether_<type>_<method>() by the rule, so a new C message needs no entry.
_PHRASES = (
    # C messages name calls as the introspected API spells them (the same
    # in Python and GJS); these few read differently from Python.
    ('Future.wait() on the thread', 'Future.result() or Future.wait() on the thread'),
    ('use Future.wait_async() instead', 'await the future, or use Future.add_done_callback()'),
    ('LoopManager.get_or_create() without STRICT',
     'LoopManager.get_or_create() without strict=True'),
    ('Pool.get_or_create() without STRICT', 'Pool.get_or_create() without strict=True'),
    ('tether_thread_new()', 'Tether.Thread'),
)
_TYPES = {'loop_manager': 'LoopManager', 'future': 'Future', 'work': 'Work',
          'lineage': 'Lineage'}
_ENUMS = {'STOP_MODE': 'StopMode', 'LOOKUP_FLAGS': 'LookupFlags', 'ERROR': 'Error',
          'DEBUG_FLAGS': 'DebugFlags', 'FUTURE_STATUS': 'FutureStatus'}
# One pass: at each place, a phrase wins over the rule that would match there.
_C_SPELLING = re.compile('|'.join((
    '(?P<phrase>%s)' % '|'.join(re.escape(c_phrase) for c_phrase, _ in _PHRASES),
    r'\btether_(?:(?P<type>%s)_)?(?P<method>[a-z0-9_]+\*?)\(\)' % '|'.join(_TYPES),
    r'\bTETHER_(?P<enum>%s)_(?P<value>[A-Z_]+)\b' % '|'.join(_ENUMS),
    # Only type names, not any word: messages quote ids, which are anything.
    r'\bTether(?P<ctype>Work|Future|LoopManager|Lineage|LookupFlags|StopMode|FutureStatus)\b')))
_PHRASE_SPELLING = dict(_PHRASES)


def _python_spelling(match):
    phrase, type_name, method, enum, ctype = match.group('phrase', 'type', 'method', 'enum',
                                                         'ctype')
    if phrase is not None:
        return _PHRASE_SPELLING[phrase]
    if method is not None:
        if type_name is None:
            return 'Tether.%s()' % method
        return '%s.%s()' % (_TYPES[type_name], method)
    if enum is not None:
        return 'Tether.%s.%s' % (_ENUMS[enum], match.group('value'))
    return 'Tether.%s' % ctype


# Cached: a loop that polls with wait(0) meets the same message again and
# again (about 0.1 us from the cache, 1 us to rewrite).
@functools.lru_cache(maxsize=256)
def _rewrite(message):
    return _C_SPELLING.sub(_python_spelling, message)


def python_message(message):
    """``message`` (of a C error) with C calls, enum values and type names
    spelled as Python code uses them: ``tether_loop_manager_stop()`` is
    ``LoopManager.stop()``, ``TETHER_STOP_MODE_CANCEL`` is
    ``Tether.StopMode.CANCEL``, ``TetherWork`` is ``Tether.Work``."""
    if type(message) is not str:
        return message
    return _rewrite(message)


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


_GError = GLib.Error
_HEAPTYPE = 1 << 9                              # Py_TPFLAGS_HEAPTYPE


@functools.lru_cache(maxsize=None)              # one entry per error class
def _builtin_base(cls):
    """The built-in class whose ``__new__`` Python requires for ``cls``:
    OSError's for TimedOutError (a TimeoutError), RuntimeError's for the
    other GLib.Error classes."""
    while cls.__flags__ & _HEAPTYPE:
        cls = cls.__base__
    return cls


def _error_maker(gerror=_GError, domain_name=_DOMAIN, classes=_CLASSES, base_class=TetherError,
                 builtin_base=_builtin_base, oserror=OSError,
                 plain_new=_builtin_base(_GError).__new__):
    # Everything it needs is bound here: PyGObject may make an error while
    # the interpreter exits, after this module's globals are gone.
    def make_error(cls, *args, **kwargs):
        """``GLib.Error.__new__``: a Tether error gets its class.

        PyGObject calls ``GLib.Error(message, domain, code)`` for every
        GError it hands to Python; Python then runs the ``__init__`` of the
        class this returns, so :class:`TetherError` sees the message too.
        Only the plain class is redirected: a subclass asked for by name is
        made as asked.
        """
        if cls is gerror:
            domain = args[1] if len(args) > 1 else kwargs.get('domain')
            if domain != domain_name:
                return plain_new(cls, *args)    # another domain's, as before
            code = args[2] if len(args) > 2 else kwargs.get('code')
            try:
                cls = classes.get(int(code), base_class)
            except (TypeError, ValueError):
                cls = base_class
        base = builtin_base(cls)
        if issubclass(base, oserror):
            # OSError.__new__ would read the arguments as (errno, strerror,
            # filename); __init__ sets message, domain, code and args.
            return base.__new__(cls)
        return base.__new__(cls, *args)         # .args as before
    return make_error


def install():
    """Makes every GLib.Error of the Tether domain an instance of its class
    from now on (see the module's documentation). Idempotent."""
    if _GError.__dict__.get('__new__') is not None:
        return
    _GError.__new__ = staticmethod(_error_maker())
