"""Embedders for the semantic cache: one shipped in a package (default, offline), or an embeddings deployment.

The default is WordLlama's ``l2_supercat`` static token embeddings at 256 dimensions, whose weights
(16 MB, safetensors) and tokenizer ship inside the ``wordllama`` wheel pinned in this plugin's
dependencies: nothing is downloaded, at install or at run time.  Only those two files are read
(with ``safetensors`` and ``tokenizers``); the ``wordllama`` package itself is not imported, because
importing it configures the root logger and its loader would try the network for a file it misses.
A prompt's vector is the mean of its tokens' vectors, unit length: a lookup into a 32000 x 256 matrix,
tens of microseconds of CPU per prompt, so it runs on the event loop.

``cache_params.redis_semantic_cache_embedding_model`` (LiteLLM's key) names a ``model_list`` model
instead: its first deployment is called as an OpenAI-compatible ``/embeddings`` endpoint (a local
llama.cpp or text-embeddings server, or a vendor's), through the gateway's upstream client.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from gateway import ConfigError

#: the shipped model: WordLlama's l2_supercat at 256 dimensions
STATIC_MODEL = "wordllama/l2_supercat_256"
WEIGHTS = ("weights", "l2_supercat_256.safetensors")
TOKENIZER = ("tokenizers", "l2_supercat_tokenizer_config.json")
#: text longer than this is cut before embedding (a static model's mean saturates long before)
MAX_EMBED_CHARS = 8000


class EmbeddingError(Exception):
    """The embedder did not give a vector (the semantic lookup is skipped, never the request)."""


class StaticEmbedder:
    """Mean of static token embeddings, normalised; files from the installed ``wordllama`` wheel."""

    name = STATIC_MODEL
    remote = False

    def __init__(self) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        spec = importlib.util.find_spec("wordllama")  # locates the package without importing it
        if spec is None or not spec.submodule_search_locations:
            raise ConfigError(
                "the semantic cache's default embedder needs the wordllama package (a dependency of gateway-cache): "
                "reinstall gateway-cache, or set cache_params.redis_semantic_cache_embedding_model"
            )
        root = Path(next(iter(spec.submodule_search_locations)))
        weights, tokenizer = root.joinpath(*WEIGHTS), root.joinpath(*TOKENIZER)
        if not weights.is_file() or not tokenizer.is_file():
            raise ConfigError(f"the wordllama package at {root} lacks {WEIGHTS[1]} or {TOKENIZER[1]}: reinstall it")
        matrix = load_file(str(weights))["embedding.weight"]
        self.matrix = np.ascontiguousarray(matrix, dtype=np.float32)
        self.tokenizer = Tokenizer.from_file(str(tokenizer))
        self.tokenizer.no_padding()
        self.tokenizer.no_truncation()
        self.dim = int(self.matrix.shape[1])

    def embed_now(self, text: str) -> np.ndarray:
        ids = self.tokenizer.encode(text[:MAX_EMBED_CHARS], add_special_tokens=False).ids
        if not ids:
            raise EmbeddingError("the text has no tokens")
        index = np.asarray(ids, dtype=np.int64)
        np.clip(index, 0, self.matrix.shape[0] - 1, out=index)
        vector: np.ndarray = self.matrix[index].mean(axis=0)
        norm = float(np.linalg.norm(vector))
        if not norm:
            raise EmbeddingError("the text's vector is zero")
        unit: np.ndarray = (vector / norm).astype(np.float32)
        return unit

    async def embed(self, text: str, gateway: Any) -> np.ndarray:
        return self.embed_now(text)


class DeploymentEmbedder:
    """An OpenAI-compatible ``/embeddings`` deployment of ``model_list`` (its first deployment)."""

    remote = True

    def __init__(self, model_group: str, gateway: Any) -> None:
        found = [d for d in gateway.deployments if d.model_group == model_group and d.unavailable is None]
        if not found:
            raise ConfigError(
                f"litellm_settings.cache_params.redis_semantic_cache_embedding_model is {model_group!r}, which is not a "
                "model_name of model_list with a usable deployment: name the embedding model's model_name"
            )
        deployment = found[0]
        if not deployment.api_base:
            raise ConfigError(
                f"the embedding model {model_group!r} of the semantic cache needs litellm_params.api_base (an "
                "OpenAI-compatible server answering /embeddings)"
            )
        self.name = model_group
        self.deployment = deployment
        self.url = deployment.api_base.rstrip("/") + "/embeddings"
        self.headers = {"Content-Type": "application/json"}
        if deployment.api_key:
            self.headers["Authorization"] = f"Bearer {deployment.api_key}"
        self.dim = 0  # learnt from the first answer; a vector of another length is refused after that

    async def embed(self, text: str, gateway: Any) -> np.ndarray:
        body = orjson.dumps({"model": self.deployment.model, "input": text[:MAX_EMBED_CHARS]})
        try:
            _, _, payload = await gateway.upstream.post(
                self.deployment.provider, self.url, body, self.headers, timeout=self.deployment.timeout or 10.0
            )
            values = orjson.loads(payload)["data"][0]["embedding"]
            vector = np.asarray(values, dtype=np.float32)
        except EmbeddingError:
            raise
        except Exception as exc:  # unreachable, an error answer, or not OpenAI's shape
            raise EmbeddingError(f"{type(exc).__name__}: {exc}"[:300]) from None
        if vector.ndim != 1 or not vector.size or (self.dim and vector.size != self.dim):
            raise EmbeddingError(f"the embedding model answered a vector of shape {vector.shape}")
        norm = float(np.linalg.norm(vector))
        if not np.isfinite(norm) or not norm:
            raise EmbeddingError("the embedding model answered a zero or non-finite vector")
        self.dim = vector.size
        return vector / norm
