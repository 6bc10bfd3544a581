"""Progress for logs, pipes, CI and cron: plain, rate-limited lines instead of a live bar.

A live progress bar needs a terminal; with stderr redirected (``2>log``) a long
run would otherwise stay silent for minutes. :class:`PlainProgress` takes the
calls srkit makes on a rich ``Progress`` (``add_task``, ``update``,
``advance``, ``reset``, ``remove_task``, ``start``, ``stop``) and writes one
line such as ``srkit: images 3/10 (30%) 1m05s elapsed, about 2m32s left  photo.png``:
for a main task (its label does not start with a space) when it advances,
at most once a second (every 10 s for a task of more than 1000 units, such as
training steps) and when it finishes; for any task at least every 10 s.
Every message is one line, whatever the terminal width.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import Any, TextIO

#: Seconds between lines while nothing but sub-tasks move (and for long main tasks).
EVERY_S = 10.0
#: Seconds between lines for a main task that advances (one line per image, rate-limited).
MAIN_EVERY_S = 1.0
LONG_TASK = 1000


def one_line(message: object) -> str:
    """``message`` as a single line: runs of whitespace, newlines included, become one space."""
    return " ".join(str(message).split())


def duration(seconds: float) -> str:
    """``75.2`` -> ``1m15s``; ``3700`` -> ``1h01m``; under a minute ``12.3s``."""
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h{minutes:02d}m"
    return f"{hours // 24}d{hours % 24:02d}h"


@dataclass
class _Task:
    description: str
    total: float | None
    completed: float = 0.0
    fields: dict[str, Any] = field(default_factory=dict)
    started: float = field(default_factory=lambda: time.monotonic())
    last_line: float = 0.0
    printed: float | None = None

    @property
    def main(self) -> bool:
        return not self.description.startswith(" ")


class PlainProgress:
    """A stand-in for ``rich.progress.Progress`` that writes plain lines to ``stream`` (nothing when ``disable``)."""

    def __init__(self, stream: TextIO | None = None, *, disable: bool = False, prefix: str = "srkit: ") -> None:
        self.stream = stream or sys.stderr
        self.disable = disable
        self.prefix = prefix
        self.tasks: dict[int, _Task] = {}
        self._next = 0
        self._last_any = time.monotonic()

    # --- the rich Progress surface srkit uses ---------------------------------------------
    def __enter__(self) -> PlainProgress:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        """Nothing to draw up front."""

    def stop(self) -> None:
        """Nothing to clear (lines are permanent)."""

    def add_task(self, description: str, total: float | None = None, completed: float = 0, **fields: Any) -> int:
        task_id = self._next
        self._next += 1
        self.tasks[task_id] = _Task(description, total, float(completed), dict(fields))
        return task_id

    def update(self, task_id: int, *, total: float | None = None, completed: float | None = None, advance: float | None = None,
               description: str | None = None, **fields: Any) -> None:
        task = self.tasks.get(task_id)
        if task is None:
            return
        before = task.completed
        if total is not None:
            task.total = total
        if completed is not None:
            task.completed = float(completed)
        if advance is not None:
            task.completed += advance
        if description is not None:
            task.description = description
        task.fields.update(fields)
        self._maybe_print(task, moved=task.completed != before)

    def advance(self, task_id: int, advance: float = 1) -> None:
        self.update(task_id, advance=advance)

    def reset(self, task_id: int, *, total: float | None = None, completed: float = 0, **fields: Any) -> None:
        task = self.tasks.get(task_id)
        if task is not None:
            task.completed, task.started, task.printed = float(completed), time.monotonic(), None
            if total is not None:
                task.total = total
            task.fields.update(fields)

    def remove_task(self, task_id: int) -> None:
        self.tasks.pop(task_id, None)

    # --- lines ---------------------------------------------------------------------------------
    def _maybe_print(self, task: _Task, moved: bool) -> None:
        if self.disable:
            return
        now = time.monotonic()
        finished = task.total is not None and task.completed >= task.total and task.printed != task.completed
        long_task = task.total is not None and task.total > LONG_TASK
        gap = EVERY_S if (long_task or not task.main) else MAIN_EVERY_S
        due = (moved and task.main and now - task.last_line >= gap) or now - self._last_any >= EVERY_S
        if (finished and task.main) or due:
            self._print(task, now)

    def _print(self, task: _Task, now: float) -> None:
        elapsed = now - task.started
        if task.total:
            share = task.completed / task.total
            count = f"{task.completed:g}/{task.total:g} ({100 * share:.0f}%)"
            left = f", about {duration(elapsed * (1 - share) / share)} left" if 0 < share < 1 else ""
        else:
            count, left = f"{task.completed:g}", ""
        info = one_line(task.fields.get("info", ""))
        line = f"{task.description.strip()} {count} {duration(elapsed)} elapsed{left}{'  ' + info if info else ''}"
        parent = next((t for t in self.tasks.values() if t.main), None)
        if not task.main and parent is not None:  # a sub-task (tiles, steps) says which image or row it belongs to
            where = one_line(parent.fields.get("info", ""))
            of = f"/{parent.total:g}" if parent.total else ""
            line = f"{parent.description.strip()} {parent.completed:g}{of}{' ' + where if where else ''}: {line}"
        line = self.prefix + line
        self.stream.write(one_line(line) + "\n")
        self.stream.flush()
        task.last_line = self._last_any = now
        task.printed = task.completed
