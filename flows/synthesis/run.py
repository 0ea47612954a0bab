"""Run a synthesis once: fingerprint its inputs, reuse an unchanged report, else rebuild it."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from flows.errors import StudyFileError
from flows.synthesis.file import Synthesis, load_synthesis

FINGERPRINT_FILE = "fingerprint.json"
_REPOSITORY = Path(__file__).resolve().parent.parent.parent
_CODE = (
    *sorted((_REPOSITORY / "flows" / "synthesis").rglob("*.py")),
    *sorted((_REPOSITORY / "flows" / "synthesis" / "templates").glob("*.j2")),
    *sorted((_REPOSITORY / "measurement").glob("meta_*.py")),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class SynthesisOutcome:
    """What a synthesis run did: the report, whether it was reused, the fingerprint."""

    report: Path
    reused: bool
    fingerprint: str
    n_studies: int


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def input_checksums(synthesis: Synthesis) -> dict[str, str]:
    """SHA-256 of everything the synthesis reads: its file, each study's estimates, the code.

    A study named by its study file is represented by the estimates of its latest finished
    estimation run (so a new run of that study changes the fingerprint).
    """
    sums = {"synthesis file": _sha256(synthesis.path.read_bytes())}
    for entry in synthesis.studies:
        if entry.estimates is not None:
            sums[f"{entry.id}: {entry.estimates}"] = _sha256(
                synthesis.located(entry.estimates).read_bytes()
            )
            continue
        from flows.estimation import latest_run_id
        from flows.estimation.results import read_result
        from flows.study import load_study

        if entry.study is None:  # pragma: no cover - the file model requires one of the two
            raise StudyFileError(f"study {entry.id!r}: name its estimates or its study file.")
        study = load_study(synthesis.located(entry.study))
        run_id = latest_run_id(study)
        table = read_result(study, "estimates", run_id).to_csv(index=False).encode()
        sums[f"{entry.id}: {entry.study} (run {run_id})"] = _sha256(table)
    sums["code"] = _sha256(b"".join(path.read_bytes() for path in _CODE))
    return sums


def fingerprint_of(checksums: dict[str, str]) -> str:
    """One SHA-256 over the input checksums."""
    return _sha256(json.dumps(checksums, sort_keys=True).encode())


def unchanged_synthesis(synthesis: Synthesis) -> tuple[Path, str] | None:
    """The report and fingerprint of an earlier run with the same inputs, or None."""
    out_dir = synthesis.output_dir
    stored = out_dir / FINGERPRINT_FILE
    report = out_dir / "report.html"
    if not stored.is_file() or not report.is_file():
        return None
    fingerprint = fingerprint_of(input_checksums(synthesis))
    try:
        previous = json.loads(stored.read_text(encoding="utf-8")).get("fingerprint")
    except json.JSONDecodeError:
        return None
    return (report, fingerprint) if previous == fingerprint else None


def synthesize(synthesis_file: Path | str, *, force: bool = False) -> SynthesisOutcome:
    """Run a synthesis without Prefect: skip when its inputs are unchanged (unless ``force``)."""
    synthesis = load_synthesis(synthesis_file)
    if not force:
        unchanged = unchanged_synthesis(synthesis)
        if unchanged is not None:
            return SynthesisOutcome(
                report=unchanged[0],
                reused=True,
                fingerprint=unchanged[1],
                n_studies=len(synthesis.studies),
            )
    from flows.synthesis.build import run_synthesis, write_synthesis

    checksums = input_checksums(synthesis)
    result = run_synthesis(synthesis)
    report = write_synthesis(result, synthesis.output_dir, checksums=checksums)
    fingerprint = fingerprint_of(checksums)
    (synthesis.output_dir / FINGERPRINT_FILE).write_text(
        json.dumps({"fingerprint": fingerprint, "inputs": checksums}, indent=2), encoding="utf-8"
    )
    return SynthesisOutcome(
        report=report, reused=False, fingerprint=fingerprint, n_studies=len(synthesis.studies)
    )
