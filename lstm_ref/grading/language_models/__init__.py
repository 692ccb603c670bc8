"""Chapter 5's exercises: a character language model's batches, its perplexity, drawing
from it, and one step of truncated BPTT. Student code, in torch; time-major throughout.

    batchify(ids (T,), batch_size) -> data (T // N, N)              contiguous streams
    perplexity(logits (L, N, V), targets (L, N)) -> a Python float  exp(mean cross-entropy)
    sample_next(logits (N, V), temperature, top_k, generator) -> ids (N,)
    train_step(model, optimizer, inputs, targets, state) -> loss, (h, c) detached

The references are lstm_ref.text's; calling them fails the check. Each exercise stands
alone: the cases bring their own streams, logits, models and windows.
"""

from .batchify import BATCHIFY, check_batchify
from .perplexity import PERPLEXITY, check_perplexity
from .sample_next import SAMPLE_NEXT, check_sample_next
from .train_step import TRAIN_STEP, check_train_step

__all__ = ["BATCHIFY", "PERPLEXITY", "SAMPLE_NEXT", "TRAIN_STEP", "check_batchify",
           "check_perplexity", "check_sample_next", "check_train_step"]  # fmt: skip
