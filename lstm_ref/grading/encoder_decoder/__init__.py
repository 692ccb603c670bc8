"""Chapter 6's exercises: an encoder–decoder, its training step, greedy decoding, and
dot-product attention. Student code, in torch; sequences are time-major token ids.

    Encoder(V, E, H, layers).forward(src, src_lengths=None)
        -> outputs (S, N, H), (h_n, c_n), mask (S, N)
    Decoder(V, E, H, layers).forward(tgt_in, state, enc_outputs, src_mask)
        -> logits (T, N, V), (h_n, c_n), None
    train_step(model, optimizer, src, tgt_in, tgt_out) -> loss, a Python float
    greedy_decode(model, src, bos, eos, max_len) -> tokens (T', N)
    dot_attention(queries, keys, mask) -> context (T, N, H), weights (T, N, S)

The layers are allowed (nn.Embedding, nn.LSTM or lstm_ref.nn.LSTM, nn.Linear): the
exercise is the architecture, not the cell. Calling lstm_ref's own Encoder, Decoder,
greedy_decode, training loop or attention, or torch's attention, fails the check.
"""

from .decoder import DECODER, check_decoder
from .dot_attention import DOT_ATTENTION, check_dot_attention
from .encoder import ENCODER, check_encoder
from .greedy_decode import GREEDY, check_greedy_decode, decoding_model
from .train_step import TRAIN_STEP, check_train_step

__all__ = ["DECODER", "DOT_ATTENTION", "ENCODER", "GREEDY", "TRAIN_STEP", "check_decoder",
           "check_dot_attention", "check_encoder", "check_greedy_decode", "check_train_step",
           "decoding_model"]  # fmt: skip
