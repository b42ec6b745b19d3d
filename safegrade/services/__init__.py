"""The use cases. The only place where states, rules, store, audit and clock meet; the CLI, the API
and the flows call these functions and nothing below them. A use case is written once.
"""
