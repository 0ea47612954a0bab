"""The terms a reader of the report meets, each in one or two plain sentences."""

from __future__ import annotations

GLOSSARY: tuple[tuple[str, str], ...] = (
    (
        "Intention-to-treat effect",
        "The difference the campaign made to everyone assigned to receive it, whether or not "
        "each person saw it: the comparison the random assignment protects.",
    ),
    (
        "Confidence interval (CI)",
        "The range of effects compatible with the data: across repeated studies, a 95% "
        "interval contains the true effect 95 times in 100.",
    ),
    (
        "Primary inference",
        "The one way of computing p-values and intervals the study chose in advance for its "
        "design (for example, with few communities, small-sample corrected cluster-robust "
        "errors or the wild cluster bootstrap); conclusions and q-values read it.",
    ),
    (
        "SD effect",
        "The effect divided by the standard deviation of the outcome in the comparison group "
        "at baseline, so that outcomes on different scales can be compared; 0.2 SD is "
        "usually called small, 0.5 SD medium.",
    ),
    (
        "q-value",
        "A p-value adjusted for testing several outcomes of the same family, so that the share "
        "of false discoveries stays under the level.",
    ),
    (
        "Step-down p-value",
        "A p-value adjusted so that the chance of any false finding in a family stays under the "
        "level (Romano-Wolf, Westfall-Young).",
    ),
    (
        "MDE (minimum detectable effect)",
        "The smallest effect the study had an 80% chance of detecting; a smaller true effect "
        "would likely go unseen.",
    ),
    (
        "SESOI (smallest effect size of interest)",
        "The smallest effect the study declared in advance to matter; when the interval "
        "excludes effects that large, they can be ruled out.",
    ),
)
"""Term and its explanation, in the order the report's first screen uses them."""

_COMMUNITY_TERMS = ("Primary inference",)


def glossary(assignment: str) -> list[tuple[str, str]]:
    """The glossary worded for the design: without clusters the primary inference is
    heteroskedasticity-robust errors; without a comparison group no effect is estimated."""
    terms = list(GLOSSARY)
    if assignment in ("individually_randomised",):
        terms = [
            (
                term,
                "The one way of computing p-values and intervals the study chose in advance "
                "for its design (here heteroskedasticity-robust errors with a t reference); "
                "conclusions and q-values read it.",
            )
            if term in _COMMUNITY_TERMS
            else (term, text)
            for term, text in terms
        ]
    if assignment == "pre_post":
        terms = [(t, x) for t, x in terms if t.startswith(("Confidence", "SD effect"))]
    return terms
