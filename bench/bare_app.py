"""The limit beside benchmark 11: a bare FastAPI endpoint served by the same uvicorn, with the same number of
workers, answering a small JSON body from a plain (threadpool) function as safegrade's routes do."""

from __future__ import annotations

from fastapi import FastAPI

app = FastAPI()


@app.get("/bare")
def bare() -> dict[str, object]:
    return {"credit_code": "91120000000000000X", "state": "graded", "version": 1}
