"""A character language model on the standard library's source, measured (chapter 5).

The corpus is read at run time (:func:`lstm_ref.text.stdlib_corpus`) and split into
contiguous training, validation and test text. On the same held-out text we score

    n-gram baselines     NGramModel, interpolated Kneser–Ney, orders 1 … MAX_ORDER
    LSTM language model  CharLSTM trained by truncated BPTT (lstm_ref.text.train_step)

in bits per character. Training runs differ only in their `Recipe`: how the batches are
laid out ("carried": consecutive windows of N parallel streams, the state carried and
detached; "random": windows from random places, each from a zero state), the truncation
length, the model size and the number of steps.

Every expensive result is cached, so the chapter and its claims test share one
computation per process. The package's modules: :mod:`.corpus` (the text and the
n-grams), :mod:`.runs` (recipes, training and its schedule on the cores) and
:mod:`.probes` (samples and what the units track); this namespace gives all of them:

    corpus()                     -> Corpus: text, split, vocabulary, ids
    ngram_model()                -> NGramModel of MAX_ORDER fitted on the training text
    ngram_log_probs(order, part) -> ln p of each held-out character under the n-gram
    language_model(recipe, seed) -> LMRun: the trained model and what it measured
    language_models(recipes)     -> the same for several, trained on the machine's cores
    start_language_models(...)   -> start those that train in workers, collect them later
    word_classes(text)           -> which predicted characters begin or continue a word
    samples(seed)                -> text drawn from the MAIN model, one per SAMPLERS entry
    unit_search(seed)            -> the MAIN model's cells against python_structure labels
"""

from .corpus import (
    CORPUS_CHARS,
    MAX_ORDER,
    TEST_FRACTION,
    VALID_FRACTION,
    Corpus,
    bits,
    corpus,
    files_of,
    ngram_log_probs,
    ngram_model,
    replaced_chars,
)
from .probes import (
    PROBE_CHARS,
    PROMPT,
    SAMPLE_LENGTH,
    SAMPLERS,
    SAMPLES_EACH,
    UnitSearch,
    correlations,
    is_word_char,
    known_word_share,
    probe_text,
    samples,
    tail_period,
    training_words,
    unit_search,
    word_classes,
)
from .runs import (
    CHARS_PER_STEP,
    COMPARISON_STEPS,
    MAIN,
    MAX_THREADS,
    TRUNCATIONS,
    LMRun,
    Recipe,
    comparison,
    comparisons,
    language_model,
    language_models,
    start_language_models,
    step_flops,
    stream_log_probs,
    train_language_model,
    trains_alone,
    window_log_probs,
    work,
)

__all__ = [
    "bits",
    "CHARS_PER_STEP",
    "comparison",
    "COMPARISON_STEPS",
    "comparisons",
    "Corpus",
    "corpus",
    "CORPUS_CHARS",
    "correlations",
    "files_of",
    "is_word_char",
    "known_word_share",
    "language_model",
    "language_models",
    "LMRun",
    "MAIN",
    "MAX_ORDER",
    "MAX_THREADS",
    "ngram_log_probs",
    "ngram_model",
    "PROBE_CHARS",
    "probe_text",
    "PROMPT",
    "Recipe",
    "replaced_chars",
    "SAMPLE_LENGTH",
    "SAMPLERS",
    "samples",
    "SAMPLES_EACH",
    "start_language_models",
    "step_flops",
    "stream_log_probs",
    "tail_period",
    "TEST_FRACTION",
    "train_language_model",
    "training_words",
    "trains_alone",
    "TRUNCATIONS",
    "unit_search",
    "UnitSearch",
    "VALID_FRACTION",
    "window_log_probs",
    "word_classes",
    "work",
]
