"""seqserve: serve recurrent sequence models (forecast, sentiment, generate) over JSON."""
