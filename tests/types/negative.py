# SPDX-License-Identifier: LGPL-2.1-or-later
"""Deliberate type errors: mypy must report each line marked `# E: code`
and nothing else (tests/types/check-types.py). Never run."""

import gi
gi.require_version('Tether', '1.0')
from gi.repository import Tether  # noqa: E402


def number() -> int:
    return 1


async def text() -> str:
    return ''


manager = Tether.LoopManager.get_or_start('negative')
manager.submit(42)  # E: call-overload
manager.submit('not callable', task_type=None)  # E: call-overload
manager.post(42)  # E: call-overload
as_text: str = manager.submit(number).result()  # E: assignment
as_int: int = manager.submit(text).result()  # E: assignment
wrong: Tether.PythonFuture[str] = manager.submit(number)  # E: arg-type
manager.submit_after(10, number).result() + 'x'  # E: operator
manager.submit_after('10', number)  # E: call-overload
manager.stop('drain')  # E: arg-type
manager.stop_within(timeout_usec=1.5)  # E: arg-type
Tether.LoopManager.get_or_create(strict='yes')  # E: arg-type
Tether.LoopManager.get_or_start(task_type=3)  # E: arg-type
manager.submit(number).add_done_callback(lambda: None)  # E: arg-type misc
manager.submit(None, None, number).result(timeout='1')  # E: arg-type
manager.no_such_method()  # E: attr-defined
manager.props.no_such_property  # E: attr-defined
flags: Tether.LookupFlags = Tether.StopMode.DRAIN  # E: assignment
try:
    pass
except Tether.BusyError as error:
    error.code.upper()  # E: attr-defined
