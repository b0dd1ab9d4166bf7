"""Hashed n-gram features of a whole corpus at once, for the wide part and the baseline.

app/preprocessing.py hashes one text at a time (serving's case). Training needs the same ids
for 50,000 reviews, twice: the model's `ngram_ids` (last `ngram_tokens` tokens) and the
baseline's counts (whole texts). Hashing each distinct token once and combining bigrams over
the corpus in one numpy pass gives exactly the same ids (tests compare them with
hashed_ngrams() and ngram_ids()) in a fraction of the time of a Python loop per text.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from itertools import chain

import numpy as np
from scipy import sparse
from tqdm import tqdm

from app.artifacts import SentimentPreprocessing
from app.preprocessing import NGRAM_ALWAYS, NGRAM_PAD, encode_tokens

_BIGRAM_MULTIPLIER = np.uint64(1_000_003)  # as in app/preprocessing.hashed_ngrams


@dataclass
class HashedCorpus:
    """Every token's unigram id and the id of the bigram it starts, texts end to end."""

    unigrams: np.ndarray  # [tokens] int64
    bigrams: np.ndarray  # [tokens] int64; a text's last entry pairs it with the next text: unused
    ends: np.ndarray  # [texts] end offset of each text in the arrays above

    @property
    def starts(self) -> np.ndarray:
        return np.concatenate([[0], self.ends]).astype(np.int64)[:-1]


def encode(
    tokenized: list[list[str]], index: dict[str, int], spec: SentimentPreprocessing, desc: str
) -> tuple[dict[str, np.ndarray], HashedCorpus]:
    """The model's inputs, as app/preprocessing.inputs_from_tokens() computes them, and the
    hashed n-grams of the whole texts (the baseline counts them)."""
    rows = [encode_tokens(tokens, index, spec) for tokens in tqdm(tokenized, desc=f"encode {desc}")]
    token_ids = np.array(rows, dtype=np.int32).reshape(-1, spec.max_length)
    corpus = hash_corpus(tokenized, spec)
    return {"token_ids": token_ids, "ngram_ids": ngram_id_rows(corpus, spec)}, corpus


def hash_corpus(tokenized: list[list[str]], spec: SentimentPreprocessing) -> HashedCorpus:
    flat = list(chain.from_iterable(tokenized))
    crc = {token: zlib.crc32(token.encode()) for token in set(flat)}
    hashes = np.fromiter(map(crc.__getitem__, flat), dtype=np.uint64, count=len(flat))
    pairs = (hashes[:-1] * _BIGRAM_MULTIPLIER + hashes[1:]) & np.uint64(0xFFFFFFFF)
    buckets = np.uint64(spec.ngram_buckets)
    unigrams = (2 + hashes % buckets).astype(np.int64)
    bigrams = (2 + np.append(pairs, np.uint64(0))[: len(hashes)] % buckets).astype(np.int64)
    ends = np.cumsum([len(tokens) for tokens in tokenized], dtype=np.int64)
    return HashedCorpus(unigrams, bigrams, ends)


def ngram_id_rows(corpus: HashedCorpus, spec: SentimentPreprocessing) -> np.ndarray:
    """The model's `ngram_ids` input of every text: app/preprocessing.ngram_ids(), row by row."""
    rows = np.full((len(corpus.ends), spec.ngram_length), NGRAM_PAD, dtype=np.int32)
    rows[:, 0] = NGRAM_ALWAYS
    for row, start, end in zip(rows, corpus.starts, corpus.ends, strict=True):
        used = min(int(end - start), spec.ngram_tokens)  # the last `ngram_tokens` tokens
        row[1 : 1 + used] = corpus.unigrams[end - used : end]
        if used > 1:  # (end - 1 would wrap round for an empty first text)
            row[1 + used : 2 * used] = corpus.bigrams[end - used : end - 1]
    return rows


def ngram_counts(corpus: HashedCorpus, spec: SentimentPreprocessing) -> sparse.csr_matrix:
    """[texts, ids]: counts of every unigram and bigram of each whole text."""
    lengths = np.diff(np.concatenate([[0], corpus.ends]))
    text_of = np.repeat(np.arange(len(lengths)), lengths)
    has_next = np.ones(len(text_of), dtype=bool)
    has_next[corpus.ends[lengths > 0] - 1] = False  # a text's last token starts no bigram
    rows = np.concatenate([text_of, text_of[has_next]])
    columns = np.concatenate([corpus.unigrams, corpus.bigrams[has_next]])
    shape = (len(lengths), spec.ngram_buckets + 2)
    counts = sparse.csr_matrix((np.ones(len(rows)), (rows, columns)), shape=shape)
    counts.sum_duplicates()
    return counts
