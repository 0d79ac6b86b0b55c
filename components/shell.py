"""Runs a component's .sh file from a pulumi_command local.Command.

The script's text and every value reach the shell in the Command's
`environment`; the command line itself is one short fixed line. So no
configured value is ever spliced into shell text, an edited script is an
update (not a replacement), delete runs the text recorded at create
(pulumi-command runs the old state's delete with its old environment:
provider/pkg/provider/local/commandController.go), and a failure's error,
which quotes the command line whole ("%w: running %q:\\n%s"), starts short.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

PREFIX = "IMAGEVOLUME_"
# The shared prelude, and the line by which a script sources it (lib.sh).
LIBRARY = Path(__file__).resolve().parent / "lib.sh"
SOURCE_LIBRARY = '. "$(dirname -- "$0")/../lib.sh"\n'


@dataclass(frozen=True)
class ShellScript:
    path: Path

    @property
    def variable(self) -> str:
        """The environment variable that carries the script's text."""
        return PREFIX + self.path.stem.upper().replace("-", "_") + "_SH"

    @property
    def command(self) -> str:
        """The Command's create or delete line: run the text, named after its file."""
        return f'exec /bin/sh -c "${self.variable}" {self.path.name}'

    def text(self) -> str:
        """The script with the library's text in place of the line that sources it."""
        return self.path.read_text().replace(SOURCE_LIBRARY, LIBRARY.read_text(), 1)

    def environment(self) -> dict[str, str]:
        return {self.variable: self.text()}


def beside(module_file: str, name: str) -> ShellScript:
    """The .sh file `name` in the folder of the module `module_file` (pass __file__)."""
    return ShellScript(Path(module_file).resolve().parent / name)
