"""Serve the Production model over HTTP, following promotions without a restart.

The service never names a version number: it asks for
``models:/churn_predictor/Production`` and gets the right model, sha256-checked.
When someone runs ``minireg promote churn_predictor 8 --to Production
--archive-existing``, the next request notices (one ``stat`` of events.jsonl
per request), loads version 8 once, and answers with it.

    pip install 'minireg[examples]'
    MINIREG_REGISTRY=registry uvicorn examples.serve_fastapi:app
    curl localhost:8000/model
    curl -X POST localhost:8000/predict -H 'content-type: application/json' \\
         -d '{"rows": [[0.1, -0.2, 0.3, 0.0, 1.2]]}'

Settings (environment): ``MINIREG_REGISTRY`` (the registry folder; default:
``registry/`` at the git root) and ``MINIREG_MODEL_URI`` (default below).
"""

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from pydantic import BaseModel

import minireg

DEFAULT_URI = "models:/churn_predictor/Production"


class PredictRequest(BaseModel):
    rows: list[list[float]]


class Prediction(BaseModel):
    model: str
    version: int
    predictions: list[Any]
    probabilities: list[list[float]] | None = None


class ModelInfo(BaseModel):
    name: str
    version: int
    stage: str
    sha256: str
    uri: str


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    # Loaded (and checked) once at start-up: a bad URI or a tampered artifact fails here.
    app.state.handle = minireg.ModelHandle(
        os.environ.get("MINIREG_MODEL_URI", DEFAULT_URI),
        os.environ.get("MINIREG_REGISTRY") or None,
    )
    yield


app = FastAPI(title="minireg serving example", lifespan=lifespan)


def handle_of(request: Request) -> minireg.ModelHandle:
    handle: minireg.ModelHandle = request.app.state.handle
    return handle


@app.get("/model")
def model_info(request: Request) -> ModelInfo:
    """Which version answers right now."""
    handle = handle_of(request)
    rec = handle.record
    return ModelInfo(
        name=rec.model,
        version=rec.version,
        stage=rec.stage,
        sha256=rec.artifact_sha256,
        uri=str(handle.uri),
    )


@app.post("/predict")
def predict(body: PredictRequest, request: Request) -> Prediction:
    """Predict with the current model; the answer names the version that made it."""
    # One snapshot of (record, model): a promotion mid-request cannot mix versions.
    current = handle_of(request).current()
    model = current.model
    try:
        predictions = model.predict(body.rows).tolist()
        probabilities = (
            model.predict_proba(body.rows).tolist() if hasattr(model, "predict_proba") else None
        )
    except ValueError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from exc
    return Prediction(
        model=current.record.model,
        version=current.record.version,
        predictions=predictions,
        probabilities=probabilities,
    )
