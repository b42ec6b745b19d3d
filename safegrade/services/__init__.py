"""The use cases. The only place where states, rules, store, audit and clock meet; the CLI, the API
and the flows call these functions and nothing below them. A use case is written once.

Contracts. What a public service function returns is a contract: a frozen dataclass
(`@dataclass(frozen=True, slots=True)`) declared beside the service that returns it, at the top of its
module. Its field names are the stable keys of the CLI's `--json` output and of the API's schema, in the
order they are printed (`safegrade.output.jsonable` turns a contract into the dict of its fields,
recursively; pydantic and FastAPI serialise the same dataclasses). Fields hold plain data: text, numbers,
`date`/`datetime`, other contracts, lists of them, and dicts only where the keys are data (counts per
state, per grade, per kind). A contract is built once, complete, and never mutated. A key that is a
Python keyword is a field with a trailing underscore, aliased for pydantic
(`from_: Annotated[date, Field(alias="from")]`); jsonable drops the underscore.
"""
