# SPDX-License-Identifier: LGPL-2.1-or-later
"""For the whole Python suite: asyncio's leak warnings are errors.

"coroutine ... was never awaited" (a RuntimeWarning raised while a
coroutine is finalized), "Task was destroyed but it is pending!",
"Task exception was never retrieved" and "Future exception was never
retrieved" (logged on the ``asyncio`` logger) fail the test during which
they surface, whichever thread they surface on. A watchdog dumps every
thread's stack and ends the run if one test hangs.
"""

import faulthandler
import gc
import logging
import re
import sys
import threading
import warnings

import pytest

# A whole test may not take longer than this (seconds): a hang fails the run.
WATCHDOG = 120

_LEAK_MESSAGES = re.compile(
    r'was never awaited|Task was destroyed but it is pending|'
    r'exception was never retrieved')

_leaks = []
_leaks_lock = threading.Lock()


def _note(text):
    with _leaks_lock:
        _leaks.append(text)


class _AsyncioLeakHandler(logging.Handler):
    def emit(self, record):
        message = record.getMessage()
        if _LEAK_MESSAGES.search(message):
            _note('asyncio logged: %s' % message)


_previous_unraisablehook = sys.unraisablehook


def _unraisablehook(unraisable):
    text = '%s: %s' % (type(unraisable.exc_value).__name__, unraisable.exc_value)
    if _LEAK_MESSAGES.search(text):
        _note('unraisable %s (in %r)' % (text, unraisable.object))
    _previous_unraisablehook(unraisable)


def pytest_configure(config):
    # The warning becomes an exception inside the coroutine's finalizer,
    # which Python reports through sys.unraisablehook.
    warnings.filterwarnings('error', message=r'coroutine .* was never awaited',
                            category=RuntimeWarning)
    config.addinivalue_line('filterwarnings',
                            r'error:coroutine .* was never awaited:RuntimeWarning')
    # During a test pytest takes the unraisable hook and reports through
    # this warning instead.
    config.addinivalue_line('filterwarnings',
                            'error::pytest.PytestUnraisableExceptionWarning')
    sys.unraisablehook = _unraisablehook
    logging.getLogger('asyncio').addHandler(_AsyncioLeakHandler(logging.WARNING))


def take_leaks():
    gc.collect()
    with _leaks_lock:
        leaks = list(_leaks)
        _leaks.clear()
    return leaks


@pytest.fixture(autouse=True)
def no_asyncio_leaks():
    """Fails a test during which asyncio reported a leaked coroutine or task."""
    take_leaks()
    faulthandler.dump_traceback_later(WATCHDOG, exit=True)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()
    leaks = take_leaks()
    if leaks:
        pytest.fail('asyncio leaks: ' + '; '.join(leaks), pytrace=False)


@pytest.fixture
def manager(request):
    """A running manager named after the test, stopped in CANCEL mode after
    it (test files that need another kind define their own)."""
    from gi.repository import Tether
    m = Tether.LoopManager.new(request.node.name[:40])
    m.start(None)
    yield m
    m.stop(Tether.StopMode.CANCEL)


def pytest_sessionfinish(session, exitstatus):
    leaks = take_leaks()
    if leaks:
        print('\nasyncio leaks after the last test: ' + '; '.join(leaks), file=sys.stderr)
        session.exitstatus = 1
