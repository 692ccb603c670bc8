"""Seeded synthetic tasks of the course, generated on the fly.

Every task takes an int ``seed`` (the same seed gives the same batch, on any device:
batches are drawn on the CPU, then moved), returns time-major tensors (L, N, ...)
in a NamedTuple, and lives in exactly one module here:

    adding_problem     adding.py          regression, long-range memory
    delayed_recall     recall.py          classification across an exact lag
    temporal_order     temporal_order.py  classification of the order of two symbols
    seasonal_series    series.py          forecasting and anomaly detection
    shape_sequences    ctc.py             labelling without alignments (CTC)
    toy_translation    translation.py     sequence to sequence
"""

from lstm_ref.tasks.adding import AddingBatch, adding_problem
from lstm_ref.tasks.ctc import CTCBatch, shape_sequences
from lstm_ref.tasks.recall import RecallBatch, delayed_recall
from lstm_ref.tasks.series import SeriesBatch, make_windows, seasonal_series
from lstm_ref.tasks.temporal_order import CLASSES, SYMBOLS, OrderBatch, temporal_order
from lstm_ref.tasks.translation import (
    BOS_ID,
    DIGIT_OFFSET,
    EOS_ID,
    PAD_ID,
    VOCAB_SIZE,
    TranslationBatch,
    decode_digits,
    toy_translation,
)

__all__ = [
    "BOS_ID",
    "CLASSES",
    "DIGIT_OFFSET",
    "EOS_ID",
    "PAD_ID",
    "SYMBOLS",
    "VOCAB_SIZE",
    "AddingBatch",
    "CTCBatch",
    "OrderBatch",
    "RecallBatch",
    "SeriesBatch",
    "TranslationBatch",
    "adding_problem",
    "decode_digits",
    "delayed_recall",
    "make_windows",
    "seasonal_series",
    "shape_sequences",
    "temporal_order",
    "toy_translation",
]
