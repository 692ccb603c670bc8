"""Character-level language modelling: corpus, vocabulary, batches, model, sampling.

=========================  ===========================================================
``stdlib_corpus``          real text read at run time: the standard library's source
``split_text``             contiguous training / validation / test parts
``CharVocab``              characters <-> ids, sorted
``batchify``               a stream as N parallel contiguous columns, (T // N, N)
``tbptt_batches``          windows of <= bptt rows that continue each other
``random_windows``         N windows from random places, for a fresh-state baseline
``cross_entropy``          mean nats per symbol; ``perplexity``, ``bits_per_char``
``CharLSTM``               embedding -> LSTM -> linear, (L, N) -> (L, N, V)
``train_step``             one step of truncated BPTT, the state returned detached
``evaluate``               bits per char over a batchified stream, state carried
``sample_next``            greedy, temperature and top-k draws; ``generate`` text
``NGramModel``             character n-grams, interpolated Kneser–Ney; order 1: unigram
``python_structure``       per-character labels of Python source: string, brackets, …
``lstm_states``            h_t and c_t after every symbol, to look inside the model
=========================  ===========================================================
"""

from .batches import batchify, random_windows, tbptt_batches
from .corpus import ascii_only, split_text, stdlib_corpus, stdlib_files
from .metrics import bits_per_char, cross_entropy, perplexity
from .model import CharLSTM, detach_state, lstm_states
from .ngram import NGramModel
from .sampling import generate, sample_next
from .structure import python_structure
from .training import evaluate, train_step
from .vocab import CharVocab

__all__ = [
    "CharLSTM",
    "CharVocab",
    "NGramModel",
    "ascii_only",
    "batchify",
    "bits_per_char",
    "cross_entropy",
    "detach_state",
    "evaluate",
    "generate",
    "lstm_states",
    "perplexity",
    "python_structure",
    "random_windows",
    "sample_next",
    "split_text",
    "stdlib_corpus",
    "stdlib_files",
    "tbptt_batches",
    "train_step",
]
