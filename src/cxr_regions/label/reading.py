"""The state of reading one sentence, clause by clause: one handler per kind of token.

:class:`SentenceState` holds what a sentence has read so far (its :class:`Entry` records: one per
region a finding gave, which a later cue may still deny, hedge, resolve or explain away) and what is
in force in the clause being read: its subjects, a negation or hedge and from where it holds, whether
advice or an explanation came before. Tokens are read left to right and handed to the handler of
their kind (subject, finding, device or cue); :mod:`cxr_regions.label.clauses` cuts the sentence and
turns the entries into evidence.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from cxr_regions.contracts.label_rows import EXACT, TYPO
from cxr_regions.label.vocabulary import CUE, DEVICE, EXPLAINED, FINDING, SUBJECT, Cue, FindingGroup
from cxr_regions.regions import ABNORMAL, NORMAL, UNCERTAIN

if TYPE_CHECKING:
    from cxr_regions.label.language import LanguageRules
    from cxr_regions.label.postposed import PostposedChain

SUBJECT_REGION = {"markings": "lungs", "pleura": "diaphragm"}  # pseudo-subjects -> their region
NO_REGION = frozenset({"outside", "neutral", "subphrenic"})  # subjects whose findings go nowhere
_NUMBERS = re.compile(r"[\d一二三四五六七八九十、,~-]+")  # a level number between a spine and its 椎体


# Tokens and clauses are plain tuples, always unpacked by name (``start, end, cue, text = tok``): the
# reader makes and reads millions, and a plain tuple unpacks several times faster than a NamedTuple.
Token = tuple[int, int, Cue, str]
"""One vocabulary term found in a sentence: ``(start, end, cue, text)``."""
Clause = tuple[int, int, int, int]
"""A clause ``(lo, hi, start, end)``: its tokens ``toks[lo:hi]``, its text ``sentence[start:end]``."""


@dataclass(slots=True)
class Entry:
    """One region a finding of the sentence gave, with the value it has so far."""

    region: str
    value: str  # ABNORMAL, UNCERTAIN, or NORMAL once withdrawn in place (resolved)
    cue: str  # the finding's text
    clause: int  # the number of its clause in the sentence
    hedge: str | None = None  # the word that doubts it (value UNCERTAIN)
    basis: str = EXACT  # TYPO where the finding or its hedge was read through a typo

    def doubt(self, hedge: str | None, typo: bool = False) -> None:
        """A stated finding (``1``) becomes uncertain (``u``) by ``hedge``."""
        if self.value == ABNORMAL:
            self.value = UNCERTAIN
            self.hedge = hedge
            if typo:
                self.basis = TYPO


Targets = Callable[[FindingGroup, tuple[str, ...]], tuple[str, ...]]


class SentenceState:
    """The entries of one sentence and the state of its clause being read (see the module docstring)."""

    __slots__ = (
        "advice", "chain", "clause_start", "cue_end", "cued", "device_end", "doubt_word", "entries",
        "explained", "heading", "hedge", "hedge_typo", "hi", "inherited", "last", "last_hedge", "look_end",
        "look_first", "markings",
        "neg", "neg_typo", "number", "own_subject", "rules", "scope", "scoped_at", "sentence", "subject_end",
        "subject_len", "subjects", "targets", "toks", "typo_denials",
    )  # fmt: skip

    def __init__(
        self,
        sentence: str,
        toks: list[Token],
        rules: LanguageRules,
        targets: Targets,
        chain: PostposedChain | None,
    ) -> None:
        self.sentence, self.toks, self.rules, self.targets, self.chain = sentence, toks, rules, targets, chain
        self.entries: list[Entry] = []
        self.markings: list[tuple[str, int]] = []  # increased-markings statements: (cue, clause number)
        self.typo_denials: list[Entry] = []  # regions said normal through a typo (位见积液: 0, basis typo)
        self.inherited: tuple[str, ...] = ()  # the subjects the clause before ended with
        self.device_end = -1  # where a device phrase ended (its look may follow: 起搏器高密度影)
        self.heading = False  # the clause before ended with ":" (心包：少量积液)

    # ---------------------------------------------------------------------------------------------
    def read_clause(self, number: int, clause: Clause, ratios: list[tuple[int, str]]) -> None:
        """Read the tokens of one clause, then let a clause that is only a hedge doubt the one before."""
        entries = self.entries
        lo, hi, start, end = clause
        self.number, self.hi = number, hi
        self.clause_start = len(entries)
        for position, cue_text in ratios:
            if start <= position < end:
                entries.append(Entry("heart", ABNORMAL, cue_text, number))
        if number:
            self.heading = sentence_char(self.sentence, start - 1) == ":"
            if self.device_end != start - 1:  # a clause right after a device phrase may go on describing it
                self.device_end = -1
            else:
                self.device_end = start
        self.subjects = self.inherited  # what the clause speaks of (carried over until it names one)
        self.own_subject = False  # the clause names a subject (else it reads the one carried over)
        self.scoped_at = -1  # end of the negation or hedge in force, where it followed such a subject
        self.subject_end = -1  # where the last subject word ended
        self.subject_len = 0
        self.last = 0  # kind of the last significant token (FINDING, SUBJECT, DEVICE, CUE, EXPLAINED)
        self.neg = self.neg_typo = self.hedge_typo = False
        self.hedge: str | None = None
        self.last_hedge: Cue | None = None  # the last hedge that may stand after what it doubts
        self.doubt_word: str | None = None  # what doubts an explanation (考虑体位所致可能)
        self.advice = False
        self.explained: str | None = None  # what an explanation earlier in the clause makes of findings
        self.scope = len(entries)  # entries from here on are those a later negation or hedge takes back
        self.cue_end = -1  # where the negation or hedge in force ended
        self.cued = False  # a finding fell under that negation or hedge
        if self.chain is not None:
            self.chain.reset()
        self.look_first = self.look_end = -1
        handlers, toks = _HANDLERS, self.toks
        token_end = -1  # where the token before ended
        named = False  # the token before names a thing (a subject, device, explanation...)
        for k in range(lo, hi):
            tok = toks[k]
            tok_start, tok_end, cue, _ = tok
            if (cue.appearance or cue.device_like or self.device_end >= 0) and self._device_look(tok):
                named, token_end = True, tok_end  # 起搏器高密度影: the device's look, no finding
                continue
            handler = handlers[cue.kind]
            if handler is not None and handler(self, k, tok, named and tok_start == token_end, token_end):
                named = True  # 渗出影: the 影 is the finding's shadow, already counted
            else:
                named = cue.names
            token_end = tok_end
        last_hedge = self.last_hedge
        if last_hedge is not None and number and not self.neg and _hedge_alone(toks, lo, hi):
            # "右下肺炎症，待排", "骨折(可疑)": a clause that is only a hedge doubts the one before
            for entry in reversed(entries[: self.clause_start]):
                if entry.clause != number - 1:
                    break
                entry.doubt(last_hedge.text, last_hedge.typo)
        self.inherited = self.subjects

    def _device_look(self, tok: Token) -> bool:
        """Device phrases: words of how something looks (高密度, 管状, 影) right next to a device word,
        before it or after it, describe the device. Returns whether ``tok`` is such a word after a
        device (then it is read as nothing); one before a device has its findings taken back."""
        start, end, cue, _ = tok
        adjacent, sentence = self.rules.adjacent, self.sentence
        if cue.appearance:
            if self.device_end >= 0 and adjacent(sentence[self.device_end : start]):
                self.device_end = end
                return True
            if self.look_end < 0 or not adjacent(sentence[self.look_end : start]):
                self.look_first = len(self.entries)  # a run of looks begins: a device may follow it
            self.look_end = end
            return False
        if cue.device_like:
            if self.look_end >= 0 and adjacent(sentence[self.look_end : start]):
                del self.entries[self.look_first :]  # 管状高密度影末端: the look was the device's
            self.device_end = end
        else:
            self.device_end = -1
        self.look_end = -1
        return False

    # -- one handler per kind of token ------------------------------------------------------------
    # Each gets the token's index and the token, whether it follows a named thing without a gap, and
    # where the token before ended; it returns whether the token named a thing after all
    # (a finding that gave regions), else None.
    def _finding(self, k: int, tok: Token, after_thing: bool, gap_start: int) -> bool:
        """A finding word: its regions (by the subjects in force) get 1, or u under a hedge."""
        start, end, cue, text = tok
        if self.advice:
            self.last = FINDING
            return False
        subjects = self.subjects
        if cue.markings and subjects and subjects[-1] == "markings":
            if not self.neg:
                self.markings.append((text, self.number))
            self.last = FINDING
            return False
        group = cue.group
        if group is None:
            return False
        if after_thing and text == self.rules.shadow:
            return False  # 纵隔影, 置管影, 外物影, 血管影: the shadow of the thing just named
        if self.last == DEVICE and group.device_owned:
            return False
        self.last = FINDING
        if self.neg or self.explained == NORMAL:
            self.cued = self.neg
            if self.neg and (self.neg_typo or cue.typo):  # 位见积液: said normal, through a typo
                said_of = subjects if self.own_subject or group.carry else ()
                for region in self.targets(group, said_of):
                    self.typo_denials.append(Entry(region, NORMAL, text, self.number, None, TYPO))
            return False
        hedge = self.hedge or (self.doubt_word if self.explained == UNCERTAIN else None)
        self.cued = self.cued or self.hedge is not None
        value = UNCERTAIN if hedge or self.explained == UNCERTAIN else ABNORMAL
        entries = self.entries
        if self.chain is not None:
            self.chain.finding(self.sentence, len(entries), cue, value, hedge, start, end)
        said_of = subjects if self.own_subject or group.carry else ()
        if group.fixed and not self.own_subject and (not self.heading or NO_REGION.issuperset(said_of)):
            # "气管右移，右上肺不张", "心影不大，右包裹性积液": a subject carried over from the clause
            # before names no place for a finding that names its own (unless that clause was a heading)
            said_of = ()
        regions = self.targets(group, said_of)
        basis = TYPO if cue.typo or (hedge is not None and self.hedge_typo) else EXACT
        for region in regions:
            entries.append(Entry(region, value, text, self.number, hedge, basis))
        if group.fixed and regions and not self.own_subject:
            # 乳腺切除术后: a finding that names its own structure is what the clause speaks of next
            self.subjects, self.own_subject = regions, True
        return bool(regions)

    def _subject(self, k: int, tok: Token, after_thing: bool, gap_start: int) -> None:
        """A subject word: it starts a new list of subjects, joins the list before, or is part of it."""
        start, end, cue, _ = tok
        subject = cast(str, cue.subject or cue.part)  # a subject cue names one or the other
        sentence, rules = self.sentence, self.rules
        if self.chain is not None:
            first, findings = self.chain.claim(sentence, start, subject)
            if findings:
                self._give(subject, first, findings)
        subjects = self.subjects
        fresh = False
        if self.last == SUBJECT:
            gap = sentence[self.subject_end : start]
            if cue.part is not None and subjects and gap and _NUMBERS.fullmatch(gap):
                self.subject_end = end  # 腰椎1椎体: the 椎体 of the lumbar spine
                return
            if rules.adjacent(gap):
                if cue.part is not None and subjects:
                    self.subject_end = end
                    return
                if subject == "markings":
                    subjects = ("markings",)
                elif end - start == 1 or self.subject_len == 1:
                    subjects = (*subjects, subject)
                else:
                    subjects = (subject,)
            elif rules.separated(gap):
                subjects = (*subjects, subject)
            else:
                subjects, fresh = (subject,), True
        else:
            subjects, fresh = (subject,), True
        self.subjects = subjects
        # (English names a subject after its finding, "enlargement of the heart": there a finding already
        # taken does not end the negation or hedge, only the subject before it does)
        if fresh and (self.scoped_at >= 0 or (self.cued and self.chain is None)):
            at = self.scoped_at if self.scoped_at >= 0 else self.cue_end
            if not rules.list_gap.fullmatch(sentence, at, start) and not (rules.continues or rules.separated)(
                sentence[gap_start:start]
            ):
                # "心影未见增大主动脉迂曲", "未见明显实变影胸椎侧弯": the denial was said of the subject
                # before it, or of the finding it already denied
                self.neg, self.hedge, self.scoped_at, self.scope = False, None, -1, len(self.entries)
                self.cued = False
        self.own_subject = True
        self.subject_end = end
        self.subject_len = end - start
        self.last = SUBJECT

    def _give(self, subject: str, first: int, findings: list[tuple[Cue, str, str | None]]) -> None:
        """Findings that named their subject after them ("enlarged heart"): the entries they gave
        from ``first`` on are given again to ``subject`` (postposed.py)."""
        entries, number = self.entries, self.number
        del entries[first:]
        for cue, value, hedge in findings:
            if subject == "markings" and cue.markings:
                self.markings.append((cue.text, number))  # "prominent interstitial markings"
                continue
            for region in self.targets(cast(FindingGroup, cue.group), (subject,)):  # a finding's cue
                entries.append(Entry(region, value, cue.text, number, hedge))

    def _device(self, k: int, tok: Token, after_thing: bool, gap_start: int) -> None:
        """A device word: no label; a device-owned finding right after it is the device's."""
        self.last = DEVICE

    def _cue(self, k: int, tok: Token, after_thing: bool, gap_start: int) -> None:
        """A word that acts on findings: negation, hedge, explanation or resolution, advice, a scope break."""
        cue = tok[2]
        self.last = CUE
        if cue.neg_pre or cue.neg_post:
            self._negation(k, tok)
        if cue.hedge_pre or cue.hedge_post:
            self._hedging(k, tok)
        if cue.explained or cue.resolved:
            self._explanation(k, tok)
        if cue.advice:
            self.advice = True
        if cue.scope_break:
            self.neg, self.hedge, self.advice, self.scoped_at, self.cued = False, None, False, -1, False
            self.scope = len(self.entries)

    # -- the parts of a cue -----------------------------------------------------------------------
    def _negation(self, k: int, tok: Token) -> None:
        """Before a finding it denies what follows; after findings it takes back those in scope."""
        _, end, cue, _ = tok
        if cue.neg_pre and (not cue.neg_post or self._finding_follows(k)):
            self.neg, self.cued, self.cue_end, self.neg_typo = True, False, end, cue.typo
            self.scope = len(self.entries)
            self.scoped_at = end if self.own_subject else -1
        else:
            del self.entries[self.scope :]

    def _hedging(self, k: int, tok: Token) -> None:
        """Before a finding it hedges what follows; after findings it hedges those in scope."""
        _, end, cue, text = tok
        if cue.hedge_post:
            self.last_hedge = cue
        if cue.hedge_pre and (not cue.hedge_post or self._finding_follows(k)):
            self.hedge, self.cued, self.cue_end, self.hedge_typo = text, False, end, cue.typo
            self.scope = len(self.entries)
            self.scoped_at = end if self.own_subject else -1
        else:
            for entry in self.entries[self.scope :]:
                entry.doubt(text, cue.typo)

    def _explanation(self, k: int, tok: Token) -> None:
        """Resolved (已吸收) or explained away (体位所致): the findings referred back to go, or become
        uncertain where the explanation itself is doubted; findings later in the clause follow."""
        _, _, cue, text = tok
        # an explanation is doubted only by 可能/待排/?... (考虑体位所致 still explains)
        later = (c for _, _, c, _ in self.toks[k + 1 : self.hi] if c.hedge_post)
        doubt = self.last_hedge or next(later, None)
        if cue.resolved or doubt is None:
            mode: str | None = NORMAL
        else:
            mode = None if doubt.rule_out else UNCERTAIN
        if mode is not None:
            self._cancel(mode, text)
        if cue.explained:
            self.explained = mode
            self.doubt_word = doubt.text if mode == UNCERTAIN and doubt is not None else None
            self.last = EXPLAINED

    def _cancel(self, mode: str, word: str) -> None:
        """Resolve (``0``) or explain away (``0``/``u``) the findings this clause refers back to.

        Those are the findings earlier in the same clause, or else those of the earlier clauses of
        the sentence about the subject this clause carried over (all of them when it carried none).
        A part of a two-region finding can go on its own: "液气胸引流术后，…，气胸已消失" takes back
        the air (lungs) of the 液气胸 and leaves its fluid (an earlier cue of the same region that
        holds the gone cue and gave a second region too).
        """
        entries, clause_start = self.entries, self.clause_start
        regions: set[str] = set()
        if len(entries) > clause_start:
            lo = clause_start
            if mode == NORMAL:  # withdrawn in place (value 0), so that the reader's indices hold
                gone = {(e.region, e.cue) for e in entries[clause_start:]}
                before = entries[:clause_start]
                for e in before:
                    if any(r == e.region and t in e.cue and t != e.cue for r, t in gone) and any(
                        o.cue == e.cue and o.clause == e.clause and o.region != e.region for o in before
                    ):
                        e.value = NORMAL
        else:
            lo = 0
            regions = {SUBJECT_REGION.get(s, s) for s in self.inherited if s not in NO_REGION}
        keep = entries[:lo]
        for entry in entries[lo:]:
            if regions and entry.region not in regions:
                keep.append(entry)
            elif mode == UNCERTAIN:
                entry.doubt(word)
                keep.append(entry)
        entries[:] = keep

    def _finding_follows(self, k: int) -> bool:
        """Whether a finding word comes later in the clause (decides how a two-sided cue reads)."""
        return any(cue.group is not None for _, _, cue, _ in self.toks[k + 1 : self.hi])


# The handler of each kind of token, indexed by Cue.kind (IGNORE, SUBJECT, FINDING, DEVICE, CUE); plain
# functions, so that a sentence's state holds no bound methods (no reference cycle to collect).
_HANDLERS = (None, SentenceState._subject, SentenceState._finding, SentenceState._device, SentenceState._cue)


def sentence_char(sentence: str, at: int) -> str:
    """The character at ``at`` ("" outside the sentence)."""
    return sentence[at] if 0 <= at < len(sentence) else ""


def _hedge_alone(toks: list[Token], lo: int, hi: int) -> bool:
    """Whether the clause ``toks[lo:hi]`` is only a hedge: no subject, finding, device, explanation
    (待排体位: the explanation is what is doubted), resolution or advice."""
    for k in range(lo, hi):
        cue = toks[k][2]
        if cue.kind in (SUBJECT, FINDING, DEVICE) or cue.explained or cue.resolved or cue.advice:
            return False
    return True
