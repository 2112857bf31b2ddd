"""Write the README's "## Walkthrough" section from real output, so it cannot drift.

The commands run in a new empty folder laid out like a checkout (`main/`, with `../shared` a link to the real
fixtures, which are read in place), against a fresh config that `tracker add` creates there.

    .venv/bin/python scripts/walkthrough.py            print the section (Markdown)
    .venv/bin/python scripts/walkthrough.py --check    exit 1, showing a diff, if README.md's section differs
    .venv/bin/python scripts/walkthrough.py --write    replace the section in README.md
"""

from __future__ import annotations

import difflib
import os
import shlex
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
START, END = "## Walkthrough\n", "### Commands\n"
TIMM = "../shared/fixtures/real/timm-imagenet"
COMMANDS = [
    f"tracker add {TIMM}/2021-06-30_d10b071a.csv --id imagenet-timm --title 'ImageNet-1k top-1 (timm)' "
    "--observed-at 2021-06-30 --yes",
    f"tracker check imagenet-timm {TIMM}/2021-10-24_51f488b7.csv",
    f"tracker import imagenet-timm {TIMM}/2021-10-24_51f488b7.csv --observed-at 2021-10-24",
    "tracker show imagenet-timm --top 5",
    "tracker diff imagenet-timm | head -5",
    "tracker events --type leader_changed --type new_sota",
    "tracker boards",
]
INTRO = """\
The output below is real: `scripts/walkthrough.py` runs these commands in an empty folder and writes this section
(`--check` fails when it is out of date, and a test runs that). There is no network here, so `tracker add` reads a
saved copy of timm's ImageNet results (`--observed-at` says when that copy was current) and `tracker import`
replays a later version, which is how you backfill history or try a config offline.

`tracker add` finds the table, proposes the column that names the entries and the metric (and its direction),
appends a commented `[[board]]` to the config (creating it here; an existing file keeps every byte), and stores
the baseline. Without `--yes` it asks which table to use when there are several, and lets you pick other columns
and another id. Given a URL it fetches the page the way `tracker run` does, and from then on `tracker run` from cron
is all the board needs. `tracker check` shows what a run would store, storing nothing.
"""


def run_all(workdir: Path) -> str:
    """Run COMMANDS in `workdir` (in this process, through click) and return the console transcript."""
    from click.testing import CliRunner

    from tracker.cli import cli

    runner = CliRunner()
    out: list[str] = []
    for command in COMMANDS:
        line, _, pipe = command.partition(" | ")
        args = shlex.split(line)[1:]
        result = runner.invoke(cli, args, catch_exceptions=False)
        if result.exit_code != 0:
            raise SystemExit(f"walkthrough: `{command}` exited {result.exit_code}:\n{result.output}")
        text = result.stdout + result.stderr  # warnings would show on the console too
        if pipe.startswith("head -"):
            text = "".join(text.splitlines(keepends=True)[: int(pipe.removeprefix("head -"))])
        if out:
            out.append("")
        out.append(f"$ {command}")
        out.extend(text.rstrip("\n").splitlines())
    return "\n".join(out)


def generate() -> str:
    """The whole section, from its heading up to (not including) the "### Commands" heading."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    old_env, old_cwd = dict(os.environ), os.getcwd()
    with tempfile.TemporaryDirectory(prefix="tracker-walkthrough-") as tmp:
        main = Path(tmp) / "main"
        main.mkdir()
        (Path(tmp) / "shared").symlink_to(ROOT.parent / "shared")
        try:
            os.environ.clear()
            os.environ.update(env)
            os.chdir(main)
            transcript = run_all(main)
        finally:
            os.chdir(old_cwd)
            os.environ.clear()
            os.environ.update(old_env)
    return f"{START}\n{INTRO}\n```console\n{transcript}\n```\n\n"


def current() -> str:
    """The section as README.md has it now."""
    text = README.read_text(encoding="utf-8")
    start = text.index(START)
    return text[start:text.index(END, start)]


def main(argv: list[str]) -> int:
    """Print, check or write the section."""
    sys.path.insert(0, str(ROOT))
    section = generate()
    if "--check" in argv:
        have = current()
        if have == section:
            return 0
        sys.stdout.writelines(difflib.unified_diff(have.splitlines(keepends=True), section.splitlines(keepends=True),
                                                   "README.md", "generated"))
        print("README.md's Walkthrough is out of date: run .venv/bin/python scripts/walkthrough.py --write")
        return 1
    if "--write" in argv:
        text = README.read_text(encoding="utf-8")
        README.write_text(text.replace(current(), section, 1), encoding="utf-8")
        return 0
    sys.stdout.write(section)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
