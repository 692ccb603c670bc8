"""lstm_ref: the reference package of the LSTM course, written to be read.

=====================  ==============================================================
``lstm_ref.nn``        torch twins of nn.RNN, LSTM, GRU and their cells; PeepholeLSTM;
                       an encoder–decoder (Seq2Seq) with dot or additive attention
``lstm_ref.numpy_ref`` NumPy cells with hand-written backward, BPTT, ``grad_check``
``lstm_ref.params``    closed-form parameter counts
``lstm_ref.gradflow``  ‖∂L/∂x_t‖ against t for any recurrent module
``lstm_ref.tasks``     seeded synthetic tasks, generated on the fly; a real series
                       (Mauna Loa CO₂, from statsmodels) read at run time
``lstm_ref.text``      character language models: corpus (the stdlib's own source),
                       vocabulary, batches for truncated BPTT, n-gram baselines,
                       perplexity, sampling, ``CharLSTM`` and its training step
``lstm_ref.train``     the course's one training loop, ``evaluate``, ``accuracy``
``lstm_ref.device``    ``default_device()``: CUDA when present, else the CPU
=====================  ==============================================================
"""

__version__ = "0.1.0"
