"""Term -> definition lists (CSV/TSV) as exported by Anki and Quizlet.

Import: the delimiter is sniffed (tab, semicolon, comma) unless an Anki
``#separator:`` header says it; Anki header lines (``#separator:tab``,
``#html:false``, ``#tags column:3``...) are honoured or ignored; a header row like
``term,definition`` is skipped; quoted fields (with embedded delimiters and
newlines) work. The first two columns are term and definition. Rows are grouped
into matching questions of about four pairs ("Match each term to its definition
(1/3)"); fewer than three rows in total is an error.

Export: the pairs of every matching question as ``term,definition`` rows; other
question types are skipped with a warning.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any, Final

from ._common import ResultBuilder, normalize_newlines
from .questions import BankData, slugify
from .results import DumpResult, ImportIssue, ParseResult

NAME: Final = "csv"
LABEL: Final = "Term/definition list (CSV or TSV: Anki, Quizlet)"
EXTENSIONS: Final = (".csv", ".tsv")
CONTENT_TYPE: Final = "text/csv"

PAIRS_PER_QUESTION: Final = 4
MIN_PAIRS: Final = 3
PROMPT: Final = "Match each term to its definition"

_DELIMITERS: Final = ("\t", ";", ",")
_ANKI_SEPARATORS: Final = {
    "tab": "\t",
    "comma": ",",
    "semicolon": ";",
    "space": " ",
    "pipe": "|",
    "colon": ":",
}
_HEADER_WORDS: Final = frozenset(
    {
        "term",
        "terms",
        "front",
        "back",
        "question",
        "answer",
        "word",
        "definition",
        "definitions",
        "meaning",
        "description",
        "keyword",
        "concept",
    }
)


@dataclass(frozen=True)
class _Row:
    line: int
    term: str
    definition: str


def parse(text: str, *, deck: str | None = None) -> ParseResult:
    """Parse a term list; ``deck`` (e.g. the file name) seeds the generated keys."""
    text = normalize_newlines(text)
    builder = ResultBuilder()
    lines = text.split("\n")

    separator: str | None = None
    drop: set[int] = set()
    header_lines = 0
    for number, header in enumerate(lines, start=1):
        if not (header.startswith("#") and ":" in header):
            break
        header_lines += 1
        name, _, value = header[1:].partition(":")
        name, value = name.strip().lower(), value.strip()
        if name == "separator":
            separator = _ANKI_SEPARATORS.get(value.lower(), value if len(value) == 1 else None)
            if separator is None:
                builder.warn(number, f"unknown Anki separator {value!r} ignored")
        elif name.endswith(" column") and value.isdigit() and int(value) > 0:
            drop.add(int(value) - 1)

    body = "\n".join(lines[header_lines:])
    if not body.strip():
        builder.error(None, "the file has no rows (expected term<TAB>definition lines)")
        return builder.result()
    delimiter = separator or _sniff(body)

    try:
        records = _read(body, delimiter, header_lines, "strict")
    except _CsvProblem as problem:
        if delimiter == "\t":
            # Tab-separated exports (Quizlet) are often unquoted: read quotes literally.
            records = _read(body, delimiter, header_lines, "literal")
        elif problem.unclosed:
            builder.error(problem.line, f"CSV error: {problem.message}")
            return builder.result()
        else:
            records = _read(body, delimiter, header_lines, "lenient")
        builder.warn(
            problem.line,
            f"irregular quotes ({problem.message}); read as well as possible, check this row",
        )

    rows: list[_Row] = []
    seen: dict[str, int] = {}
    warned_extra = False
    for n, (line, record) in enumerate(records):
        fields = [f for i, f in enumerate(record) if i not in drop]
        if n == 0 and _is_header(fields):
            continue
        term = fields[0].strip() if fields else ""
        definition = fields[1].strip() if len(fields) > 1 else ""
        if len(fields) > 2 and any(f.strip() for f in fields[2:]) and not warned_extra:
            builder.warn(line, "columns after the second (term, definition) are ignored")
            warned_extra = True
        if not term or not definition:
            missing = "term" if not term else "definition"
            builder.error(
                line,
                f"row has no {missing} (expected term{_name(delimiter)}definition)",
            )
            continue
        if term in seen:
            builder.error(line, f"duplicate term {term!r} (first on line {seen[term]})")
            continue
        seen[term] = line
        rows.append(_Row(line, term, definition))

    if len(rows) < MIN_PAIRS:
        builder.error(
            None,
            f"a term list needs at least {MIN_PAIRS} term/definition rows (found "
            f"{len(rows)}) to build a matching question",
        )
        return builder.result()

    base = slugify(deck, max_length=40, fallback="terms") if deck else "terms"
    groups = _group(rows)
    for n, group in enumerate(groups, start=1):
        prompt = PROMPT if len(groups) == 1 else f"{PROMPT} ({n}/{len(groups)})"
        data: dict[str, Any] = {
            "key": f"{base}-{n}",
            "type": "match",
            "prompt": prompt,
            "pairs": [{"left": r.term, "right": r.definition} for r in group],
        }
        builder.build(data, group[0].line, builder.next_index(), explicit_key=False)
    return builder.result()


class _CsvProblem(Exception):
    def __init__(self, line: int, message: str, *, unclosed: bool = False) -> None:
        super().__init__(message)
        self.line = line
        self.message = message
        self.unclosed = unclosed


def _read(body: str, delimiter: str, offset: int, mode: str) -> list[tuple[int, list[str]]]:
    """Non-blank records with the line each starts on.

    ``mode``: "strict" (raises _CsvProblem on irregular quoting), "lenient" (Python's
    forgiving reading) or "literal" (quotes are ordinary characters).
    """
    if mode == "literal":
        reader = csv.reader(io.StringIO(body), delimiter=delimiter, quoting=csv.QUOTE_NONE)
    else:
        reader = csv.reader(io.StringIO(body), delimiter=delimiter, strict=mode == "strict")
    records: list[tuple[int, list[str]]] = []
    previous_end = 0
    while True:
        start = offset + previous_end + 1
        try:
            record = next(reader)
        except StopIteration:
            return records
        except csv.Error as exc:
            message = str(exc).replace("'\t'", "a tab")
            unclosed = "unexpected end of data" in message
            if unclosed:
                message = f"a quoted field starting on line {start} is never closed"
            raise _CsvProblem(start, message, unclosed=unclosed) from None
        previous_end = reader.line_num
        if any(f.strip() for f in record):
            records.append((start, record))


def _name(delimiter: str) -> str:
    return {"\t": "<TAB>", ",": ",", ";": ";"}.get(delimiter, delimiter)


def _is_header(fields: list[str]) -> bool:
    cells = [f.strip().lower() for f in fields[:2]]
    return len(cells) == 2 and all(c in _HEADER_WORDS for c in cells)


def _sniff(body: str) -> str:
    """Pick the delimiter: tab if every row has one, else the one (semicolon or
    comma) that splits the most rows into a consistent number of 2+ columns, with
    the shorter first column (terms are short) breaking ties."""
    scores: dict[str, tuple[float, float, float]] = {}
    for delimiter in _DELIMITERS:
        try:
            records = [r for r in csv.reader(io.StringIO(body), delimiter=delimiter) if r]
        except csv.Error:
            continue
        if not records:
            continue
        counts = [len(r) for r in records]
        multi = sum(1 for c in counts if c >= 2) / len(counts)
        modal = max(counts.count(c) for c in set(counts)) / len(counts)
        first = sum(len(r[0]) for r in records) / len(records)
        scores[delimiter] = (multi, modal, -first)
    if scores.get("\t", (0.0,))[0] == 1.0:
        return "\t"
    if not scores:
        return ","
    return max(scores, key=lambda d: scores[d])


def _group(rows: list[_Row]) -> list[list[_Row]]:
    """Split into groups of ~4 (never fewer than 3): 9 -> 3+3+3, 10 -> 4+3+3, 5 -> 5."""
    count = -(-len(rows) // PAIRS_PER_QUESTION)
    while count > 1 and len(rows) < MIN_PAIRS * count:
        count -= 1
    size, extra = divmod(len(rows), count)
    groups: list[list[_Row]] = []
    start = 0
    for n in range(count):
        end = start + size + (1 if n < extra else 0)
        groups.append(rows[start:end])
        start = end
    return groups


def dump(bank: BankData, *, delimiter: str = ",") -> DumpResult:
    """Matching questions as ``term<delimiter>definition`` rows (no header row)."""
    warnings: list[ImportIssue] = []
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    seen: set[str] = set()
    exported = skipped = 0
    for n, q in enumerate(bank.questions):
        if q.type != "match":
            warnings.append(
                ImportIssue(
                    None, f"CSV term lists keep only matching questions; skipped {q.key!r}", n
                )
            )
            skipped += 1
            continue
        for pair in q.pairs:
            if pair.left in seen:
                warnings.append(
                    ImportIssue(
                        None,
                        f"term {pair.left!r} of {q.key!r} already appeared in an earlier "
                        "question; importing this file will report it as a duplicate",
                        n,
                    )
                )
            seen.add(pair.left)
            writer.writerow([pair.left, pair.right])
        exported += 1
    if exported:
        warnings.append(
            ImportIssue(
                None,
                "CSV keeps only term/definition pairs: prompts, keys, explanations and "
                "metadata are lost, and on import the rows are regrouped "
                f"{PAIRS_PER_QUESTION} per question",
            )
        )
    return DumpResult(text=out.getvalue(), warnings=warnings, exported=exported, skipped=skipped)
