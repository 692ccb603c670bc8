"""lstm_ref: reference recurrent networks for the LSTM course."""
