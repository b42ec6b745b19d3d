"""Text a request may carry: anything but the NUL character, which no database column holds (PostgreSQL
refuses it outright), so that it is refused at the door as invalid input (422) rather than failing in the
store. `TEXT` is the pattern for a Query, Path or Form parameter; `Text` the type of a body model's field."""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints

TEXT = r"^[^\x00]*$"
Text = Annotated[str, StringConstraints(pattern=TEXT)]
MAX_ID = 2**31 - 1  # the largest id a database integer column holds
