"""Is an event name a fact? ``<entity>.<past-tense verb>`` (order.created, parcel.shipped, invoice.paid) or an
adjective or participle that states a fact on its own (invoice.overdue, stock.low, order.lost).

A word list cannot know every word: an event whose name states a fact the list misses says ``fact: true`` in its
catalog entry, and the message suggests both the past-tense name and that marker.
"""

from __future__ import annotations

# Words ending in -ed that are not past tenses.
NOT_PAST_TENSE = frozenset({"feed", "need", "seed", "speed", "breed", "proceed", "succeed", "exceed", "embed", "bed"})

# Irregular past tenses and participles (sent, paid, lost...).
IRREGULAR_PAST = frozenset(
    [
        "sent",
        "paid",
        "built",
        "made",
        "held",
        "lost",
        "won",
        "sold",
        "begun",
        "done",
        "drawn",
        "given",
        "known",
        "shown",
        "taken",
        "written",
        "spent",
        "bought",
        "brought",
        "caught",
        "left",
        "kept",
        "met",
        "read",
        "run",
        "set",
        "put",
        "cut",
        "shut",
        "split",
        "reset",
        "withdrawn",
        "undone",
        "frozen",
        "chosen",
        "found",
        "hidden",
        "bound",
        "rebuilt",
        "resent",
        "overdrawn",
        "forgotten",
        "broken",
        "driven",
        "risen",
        "seen",
        "sung",
        "hung",
        "laid",
        "said",
        "heard",
        "got",
        "gotten",
        "gone",
        "grown",
        "flown",
        "blown",
        "thrown",
        "bitten",
        "proven",
        "quit",
        "hit",
        "let",
        "bid",
        "cast",
        "cost",
        "hurt",
        "spread",
        "upset",
        "broadcast",
        "forecast",
        "dug",
        "stuck",
        "spun",
        "swung",
        "felt",
        "dealt",
        "meant",
        "bent",
        "burnt",
        "learnt",
        "dreamt",
        "spelt",
        "spoilt",
        "slept",
        "swept",
        "wept",
        "crept",
        "leapt",
        "lit",
        "slid",
        "ground",
        "wound",
        "fought",
        "taught",
        "sought",
        "thought",
        "stood",
        "understood",
        "withstood",
        "struck",
        "overtaken",
        "overridden",
        "rewritten",
        "redone",
        "remade",
        "resold",
        "reborn",
        "born",
        "sworn",
        "torn",
        "worn",
        "become",
        "overcome",
        "rerun",
        "sprung",
        "swum",
        "drunk",
        "shrunk",
        "sunk",
        "stolen",
        "forgiven",
        "told",
        "shaken",
        "woken",
        "ridden",
        "upheld",
        "withheld",
        "lent",
        "beaten",
        "mistaken",
        "undertaken",
        "partaken",
        "forbidden",
    ]
)

# Adjectives and participles that state a fact as they are (invoice.overdue, stock.low, account.inactive).
FACT_ADJECTIVES = frozenset(
    [
        "overdue",
        "due",
        "late",
        "early",
        "low",
        "high",
        "empty",
        "full",
        "ready",
        "available",
        "unavailable",
        "active",
        "inactive",
        "idle",
        "open",
        "complete",
        "incomplete",
        "valid",
        "invalid",
        "stale",
        "online",
        "offline",
        "dormant",
        "eligible",
        "ineligible",
        "insolvent",
        "pending",
        "final",
        "void",
    ]
)

# A trailing particle of a phrasal verb: the verb before it decides (checked_out, signed_up, sold_out).
PARTICLES = frozenset({"out", "in", "up", "down", "off", "over", "back", "away", "through"})


def _states_a_fact(word: str) -> bool:
    return (word.endswith("ed") and word not in NOT_PAST_TENSE) or word in IRREGULAR_PAST or word in FACT_ADJECTIVES


def past_tense_problem(name: str) -> str | None:
    """None if the event name states a fact, else the fix: a past-tense name, or the ``fact: true`` marker."""
    segments = name.split(".")
    words = segments[-1].split("_")
    while len(words) > 1 and words[-1] in PARTICLES:
        words.pop()
    if _states_a_fact(words[-1]):
        return None
    if len(segments) == 1:
        suggestions = [f"{name}.happened"]
    else:  # the verb is either the last word (order.create) or the first segment (cancel.order)
        suggestions = [
            ".".join([*segments[:-1], "_".join([*words[:-1], _past(words[-1])])]),
            ".".join([*segments[1:], _past(segments[0])]),
        ]
    examples = " or ".join(repr(s) for s in suggestions)
    return (
        f"name the fact in the past tense, e.g. {examples} (<entity>.<past-tense verb>); if {name!r} already "
        "states a fact with an adjective or participle, keep it and mark the event `fact: true`"
    )


def _past(verb: str) -> str:
    if verb.endswith("e"):
        return verb + "d"
    if verb.endswith("y") and len(verb) > 1 and verb[-2] not in "aeiou":
        return verb[:-1] + "ied"
    return verb + "ed"
