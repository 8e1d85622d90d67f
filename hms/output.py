"""What the commands print: lines and rich tables, or one JSON object under --json, and check progress.

Text on stdout is plain (no ANSI codes) unless stdout is a terminal; progress is drawn only when
stderr is a terminal, so piping or redirecting either stream never captures control codes.
"""

import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from decimal import ROUND_HALF_EVEN, Context, Decimal, localcontext
from typing import Any, SupportsFloat, TextIO

from babel.numbers import format_compact_currency, format_currency
from rich.console import Console
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from hms.client import HmsError, one_line

CHECKS = {"lint": ("🔍", "Lint"), "simulation": ("🧪", "Simulation")}
CHECK_STYLES = {"passed": "green", "failed": "bold red", "running": "yellow", "cancelled": "dim"}
# A pipe has no width: table rows written to one are never wrapped.
PIPE_WIDTH = 1000
PROGRESS_BAR_WIDTH = 30

# The checks still running: (kind, percent, the worker's note).
Running = Sequence[tuple[str, int, str | None]]


def short_money(value: SupportsFloat) -> str:
    """$98M, $1.2B, $950K, $420: one decimal at most, none from 100 of a unit up, `−$5K` below zero.

    The portal's engine/figures.py short_money, which hms may not import: the same Babel calls on
    the exact value, rounded half to even before the unit is chosen ($1M, not $1000K).
    """
    amount = Decimal(value) if isinstance(value, int) else Decimal(float(value))
    with localcontext(Context(prec=max(28, amount.adjusted() + 8), rounding=ROUND_HALF_EVEN)):
        whole = amount.quantize(Decimal(1)) if amount.is_finite() else abs(amount) if amount.is_nan() else amount
        if not whole.is_finite() or abs(whole) < 1000:
            text = format_currency(whole or Decimal(0), "USD", "¤#,##0", locale="en_US", currency_digits=False)
        else:
            digits = whole.adjusted()
            unit = min(digits - digits % 3, 12)  # K, M, B, T
            shown = amount.quantize(Decimal(1).scaleb(max(digits - 2, unit - 1)))
            text = format_compact_currency(shown, "USD", locale="en_US", fraction_digits=1)
    return text.replace("-", "−", 1)


def dotted(label: str) -> str:
    """`Lint .............` and `Simulation .......`: the status words line up."""
    return f"{label} {'.' * max(3, 17 - len(label))}"


def check_title(kind: str) -> str:
    """`🔍 Lint .............`: a check's icon and dotted name."""
    icon, title = CHECKS[kind]
    return f"{icon} {dotted(title)}"


def finding_line(item: dict[str, Any]) -> str:
    mark = "✗" if item.get("severity") == "error" else "⚠"
    where = f" at {item['path']}" if item.get("path") else ""
    return f"   {mark} {item.get('code', '?')}{where}: {one_line(item.get('message', ''))}"


def findings_of(check: dict[str, Any], severity: str) -> list[dict[str, Any]]:
    return [f for f in (check.get("findings") or []) if f.get("severity") == severity]


def cost_phrase(result: dict[str, Any] | None) -> str | None:
    """`Cost: $98M within budget` / `Declared cost: $2B over budget by $1B`, or None without a cost."""
    if not result or result.get("cost") is None:
        return None
    label = "Declared cost" if result.get("cost_source") == "declared" else "Cost"
    text = f"{label}: {short_money(result['cost'])}"
    if result.get("within_budget") is True:
        return f"{text} within budget"
    if result.get("within_budget") is False:
        return f"{text} over budget by {short_money(result.get('over_by') or 0)}"
    return text


def check_lines(kind: str, check: dict[str, Any]) -> list[str]:
    """The final line of a finished check, then its findings (errors first)."""
    head = f"{check_title(kind)} {check['status'].upper()}"
    if kind == "simulation":
        phrase = cost_phrase(check.get("result"))
        if phrase and check["status"] != "cancelled":
            head += f" ({phrase})"
    lines = [head]
    lines += [finding_line(f) for f in findings_of(check, "error")]
    lines += [finding_line(f) for f in findings_of(check, "warning")]
    return lines


def check_cell(kind: str, check: dict[str, Any] | None) -> Text:
    """`lint passed`, `simulation running 40%` or `lint -`, styled by the check's status."""
    if not check:
        return Text(f"{kind} -")
    text = f"{kind} {check['status']}"
    if check["status"] == "running":
        text += f" {check.get('progress', 0)}%"
    return Text(text, style=CHECK_STYLES.get(check["status"], ""))


def versions_table(rule: dict[str, Any]) -> Table:
    """One row a version: number, status, both checks, the simulated cost and where it is live."""
    live: dict[int, list[str]] = {}
    for env, release in (rule.get("releases") or {}).items():
        live.setdefault(release.get("version"), []).append(env)
    table = Table(box=None, show_header=False, pad_edge=False, padding=(0, 1))
    for _ in ("version", "status", "lint", "simulation"):
        table.add_column(no_wrap=True)
    table.add_column()  # cost and where it is live: the column that wraps on a narrow terminal
    for version in rule.get("versions") or []:
        notes = []
        phrase = cost_phrase((version.get("simulation") or {}).get("result"))
        if phrase:
            notes.append(phrase)
        if version["number"] in live:
            notes.append(f"(live: {', '.join(live[version['number']])})")
        table.add_row(
            Text(f"v{version['number']}"),
            Text(version["status"].replace("_", " ")),
            check_cell("lint", version.get("lint")),
            check_cell("simulation", version.get("simulation")),
            Text("  ".join(notes)),
        )
    return table


def progress_grid(running: Running) -> Table:
    """The running checks, one row each: title, bar, percentage and the worker's note."""
    grid = Table.grid(padding=(0, 1))
    for kind, percent, note in running:
        bar = ProgressBar(total=100, completed=percent, width=PROGRESS_BAR_WIDTH)
        grid.add_row(Text(check_title(kind)), bar, Text(f"{percent}%"), Text(note or "", style="dim"))
    return grid


def is_terminal(stream: object) -> bool:
    return hasattr(stream, "isatty") and stream.isatty()


class Output:
    """Where a command's output goes: text on stdout, or under --json only `result` and errors as JSON."""

    def __init__(self, as_json: bool, stdout: TextIO | None = None, stderr: TextIO | None = None) -> None:
        self.as_json = as_json
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr
        self._live: Live | None = None  # the progress drawn on stderr, while it is shown

    def line(self, text: str = "") -> None:
        if self.as_json:
            return
        self._clear_progress()
        self.stdout.write(text + "\n")
        self.stdout.flush()

    def table(self, table: Table) -> None:
        """A rich table: coloured and fitted to a terminal, else plain, unwrapped and without trailing blanks."""
        if self.as_json:
            return
        self._clear_progress()
        tty = is_terminal(self.stdout)
        console = Console(file=self.stdout, force_terminal=tty, width=None if tty else PIPE_WIDTH)
        with console.capture() as captured:
            console.print(table)
        self.stdout.write("".join(f"{row.rstrip()}\n" for row in captured.get().splitlines()))
        self.stdout.flush()

    @contextmanager
    def progress(self) -> Iterator[Callable[[Running], None]]:
        """`with out.progress() as show:` `show(running)` draws [(kind, percent, note)] on stderr, a
        terminal only, and erases it before the next line; leaving the block erases it too."""
        try:
            yield self._show_progress
        finally:
            self._clear_progress()

    def _show_progress(self, running: Running) -> None:
        if not running or not is_terminal(self.stderr):
            self._clear_progress()
            return
        if self._live is None:
            console = Console(file=self.stderr)
            self._live = Live(
                console=console, transient=True, auto_refresh=False, redirect_stdout=False, redirect_stderr=False
            )
            self._live.start()
        self._live.update(progress_grid(running), refresh=True)

    def _clear_progress(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None

    def result(self, data: Any) -> None:
        if self.as_json:
            self._clear_progress()
            self.stdout.write(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")
            self.stdout.flush()

    def error(self, exc: HmsError) -> None:
        self._clear_progress()
        if self.as_json:
            self.result(exc.as_json())
        self.stderr.write(exc.line() + "\n")
        self.stderr.flush()
