"""The HTTP API (`/api/v1`, FastAPI): a front door over the same services as the CLI.

`create_app` builds the app over one context (settings, rules, store, clock) opened once per process;
`deps` proves who calls (session cookie or bearer token) and gives each request its context; `problems`
turns every refusal into an RFC 9457 problem; `headers` adds the security headers; `routers` holds one
module per noun. No use case is written here: a route reads its parameters, calls one service
function and returns its contract.
"""
