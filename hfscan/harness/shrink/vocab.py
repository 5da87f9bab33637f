"""Vocabulary passes: vocabularies cut (``vocab`` rules), special-token ids moved inside the cut vocabulary,
codebooks kept below them (``[codes_below_ids]``) and vocabularies laid out in ranges (``[vocab_ranges]``)."""

from __future__ import annotations

import itertools
from typing import Any

from hfscan.harness.configtree import (dotted, is_placeholder_token, special_tokens, token_ids, vocab_attrs,
                                      vocab_sizes, walk)
from hfscan.harness.shrink import ruleset
from hfscan.harness.shrink.state import State
from hfscan.harness.shrink.values import _int_list, _is_int


def _vocab(st: State, cfg: Any, path: str, attrs: dict) -> None:
    """Cap the vocabulary; the smallest new vocabulary bounds every special-token id."""
    for rule in st.rules_of("vocab"):
        for attr in rule["attrs"]:
            old = attrs.get(attr)
            if _is_int(old) and old > rule["max"]:
                st.set(cfg, path, attr, rule["max"])
                st.vocab = min(st.vocab or old, rule["max"])


def equal_vocabularies(st: State, root: Any) -> None:
    """Where a vocabulary of the tree was cut, the smaller ones rise to the cut size: every vocabulary of a
    tiny tree holds the same ids, so ids one part produces (a decoder's argmax) embed in another (a speech
    encoder whose default vocabulary is smaller than the decoder's)."""
    if not st.vocab:
        return
    for path, node in walk(root):
        for attr in st.vocabs & vars(node).keys():
            if _is_int(vars(node)[attr]) and 0 < vars(node)[attr] < st.vocab:
                st.set(node, path, attr, st.vocab)


def remap_tokens(st: State, root: Any) -> None:
    """Move special-token ids beyond the new vocabulary inside it, across the whole tree.

    Ids are moved to free slots from the top of the vocabulary down, in
    order, so distinct ids stay distinct and an id shared by two
    sub-configs maps to the same new id.
    """
    if not st.vocab:
        return
    nodes = list(walk(root))
    ids = sorted(token_ids(nodes))
    low = {i for i in ids if i < st.vocab}
    free = [i for i in range(st.vocab - 1, -1, -1) if i not in low]
    remap = dict(zip([i for i in ids if i >= st.vocab], free))
    for path, node in nodes:
        for attr, value in special_tokens(node).items():
            if _is_int(value) and value in remap:
                st.set(node, path, attr, remap[value])
            elif _int_list(value) and any(i in remap for i in value):
                st.set(node, path, attr, type(value)(remap.get(i, i) for i in value))
    # a placeholder token the config declares but leaves unset (a checkpoint's tokenizer sets it)
    free = [i for i in free if i not in remap.values()]
    for path, node in nodes:
        for attr, value in vars(node).items():
            if value is None and is_placeholder_token(attr) and free:
                st.set(node, path, attr, free.pop(0))
    st.remap = remap
    _token_lists(st, nodes, free)


def _token_list_attrs(node: Any) -> tuple[dict, dict]:
    """({attr: value} of the ``[token_lists]`` pairs, {attr: value} of its lists) a config sets."""
    table = ruleset.rules().get("token_lists", {})
    pairs = {a: v for a, v in vars(node).items() if a.endswith(tuple(table.get("pairs", ()))) and isinstance(
        v, (list, tuple)) and v and all(isinstance(p, (list, tuple)) and len(p) == 2 and all(map(_is_int, p)) for p in v)}
    lists = {a: v for a, v in vars(node).items() if a.endswith(tuple(table.get("lists", ()))) and a not in pairs
             and _int_list(v)}
    return pairs, lists


def _token_lists(st: State, nodes: list, free: list[int]) -> None:
    """Token ids held in lists (``[token_lists]``: a generation setting's forced, suppressed or banned ids) inside
    the cut vocabulary: a forced id the vocabulary no longer holds moves to a free id (the one a special token
    moved to where it is one), the ids of a list follow the remap, or are dropped where nothing moved them (a
    config of transformers 4.x holds such settings as attributes of every config: left alone there)."""
    found = [(path, node, _token_list_attrs(node)) for path, node in nodes]
    taken = set(st.remap.values()) | {i for _, _, (pairs, lists) in found for v in (*pairs.values(), *lists.values())
                                      for i in _flat(v) if i < st.vocab}
    free = [i for i in free if i not in taken]
    for path, node, (pairs, _) in found:
        for attr, value in pairs.items():
            for _, token in value:
                if token >= st.vocab and token not in st.remap and free:
                    st.remap[token] = free.pop(0)
            new = [[pos, st.remap.get(tok, tok)] for pos, tok in value]
            st.set(node, path, attr, type(value)(p for p in new if p[1] < st.vocab))
    for path, node, (_, lists) in found:
        for attr, value in lists.items():
            new = list(dict.fromkeys(i for i in (st.remap.get(i, i) for i in value) if i < st.vocab))
            if new != list(value):
                st.set(node, path, attr, type(value)(new))


def _flat(value: Any) -> list[int]:
    return [i for x in value for i in (_flat(x) if isinstance(x, (list, tuple)) else [x])]


def codes_below_ids(st: State, original: Any, root: Any) -> None:
    """A codebook (``[codes_below_ids]``) no larger than the smallest vocabulary of the original tree may hold
    codes that are token ids (an image generator writes its VQ codes into the text ids); it keeps fitting: at
    most the smallest vocabulary of the tiny tree, and below the new ids of the special tokens that came after
    its codes (a power of two where it was one)."""
    old_nodes = list(walk(original))
    vocabs, new_vocabs = vocab_sizes(original), vocab_sizes(root)
    if not (vocabs and st.vocab):
        return
    ids, nodes = token_ids(old_nodes), dict(walk(root))
    for path, old_node in old_nodes:
        for attr in ruleset.rules().get("codes_below_ids", {}).get("attrs", ()):
            size, node = vars(old_node).get(attr), nodes.get(path)
            if node is None or not (_is_int(size) and 0 < size <= min(vocabs) and _is_int(vars(node).get(attr))):
                continue
            bound = min([*new_vocabs, *(st.remap.get(i, i) for i in ids if i >= size)])
            if size & (size - 1) == 0 and bound > 0:  # a power of two (a validator may insist) stays one
                bound = 1 << (bound.bit_length() - 1)
            if vars(node)[attr] > bound > 0:
                st.set(node, path, attr, bound)


def _vocab_ranges(st: State) -> None:
    """A vocabulary laid out in ranges (``[vocab_ranges]``: attributes with its suffix are the offsets at which
    ranges of codes start, e.g. an image tokenizer's codes placed after the text tokens). Where the cut vocabulary
    no longer reaches the last offset, it is laid out in the same ranges again: the first range (the text tokens)
    as long as the cut vocabulary, a later range as long as a value of the tree that was cut (its codebook) as
    long as that value now is, any other range as long as before; the offsets and the vocabulary size follow.
    Runs before the rebuild, so that a validator checking the layout sees it whole."""
    original, cfg = st.original, st.cfg
    suffix = ruleset.rules().get("vocab_ranges", {}).get("suffix")
    if not suffix:
        return
    vocabs = set(vocab_attrs())
    cut = [(p, old) for p, old, new in st.shrunk if _is_int(old) and _is_int(new) and new < old]
    old_nodes = dict(walk(original))
    for path, node in walk(cfg):
        old_node = old_nodes.get(path)
        offsets = sorted((v, a) for a, v in vars(old_node or node).items()
                         if a.endswith(suffix) and _is_int(v) and v > 0)
        holders = [(p, n, a) for p, n in walk(node) for a in sorted(vocabs & vars(n).keys())
                   if offsets and _is_int(vars(n)[a]) and _is_int(dotted(old_node, f"{p}{a}"))
                   and vars(n)[a] <= offsets[-1][0] < dotted(old_node, f"{p}{a}")]  # cut below the last range
        if not holders:
            continue
        sub_path, holder, attr = holders[0]
        bounds = [0] + [v for v, _ in offsets] + [dotted(old_node, f"{sub_path}{attr}")]
        lengths = [b - a for a, b in zip(bounds, bounds[1:])]
        new = [vars(holder)[attr]] + [next((dotted(cfg, p) for p, o in cut if o == length), length)  # as it ends
                                      for length in lengths[1:]]
        for (_, name), start in zip(offsets, itertools.accumulate(new)):
            st.set(node, path, name, start)
        st.set(holder, f"{path}{sub_path}", attr, sum(new))
