"""The simulated communities and respondents: assignment, enumerators, fake identities."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# (region, code, country dialling prefix, latitude box, longitude box). The boxes lie inside
# Senegal (Kolda, Tambacounda, Sedhiou) and the Gambia.
Region = tuple[str, str, str, tuple[float, float], tuple[float, float]]
REGIONS: tuple[Region, ...] = (
    ("Kolda", "KOL", "+221", (12.60, 13.10), (-15.20, -14.20)),
    ("Upper River", "URR", "+220", (13.25, 13.55), (-14.40, -13.85)),
    ("Tambacounda", "TAM", "+221", (13.30, 14.20), (-13.90, -12.60)),
    ("Central River", "CRR", "+220", (13.45, 13.70), (-15.20, -14.50)),
    ("Sedhiou", "SED", "+221", (12.55, 12.95), (-15.90, -15.30)),
    ("North Bank", "NBR", "+220", (13.50, 13.75), (-16.40, -15.60)),
)

GIVEN_NAMES: tuple[str, ...] = (
    "Fatou", "Aminata", "Awa", "Mariama", "Binta", "Isatou", "Kadiatou", "Ndeye", "Aissatou",
    "Khady", "Rokhaya", "Haddy", "Oumou", "Fanta", "Sira", "Moussa", "Ousmane", "Mamadou",
    "Ibrahima", "Lamin", "Ebrima", "Abdoulaye", "Modou", "Cheikh", "Alieu", "Babacar",
    "Demba", "Samba", "Boubacar", "Sulayman", "Omar", "Pape", "Saliou", "Malick", "Yusupha",
    "Alhagie", "Seydou", "Tidiane", "Bakary", "Musa",
)  # fmt: skip

FAMILY_NAMES: tuple[str, ...] = (
    "Diallo", "Ndiaye", "Sow", "Ba", "Faye", "Sarr", "Diop", "Fall", "Gueye", "Mbaye",
    "Cisse", "Toure", "Kane", "Balde", "Mane", "Sane", "Jallow", "Ceesay", "Touray", "Bah",
    "Camara", "Jammeh", "Sanneh", "Njie", "Darboe", "Manneh", "Drammeh", "Sonko", "Kanteh",
    "Jobe", "Badji", "Coly", "Diatta", "Sylla", "Konate",
)  # fmt: skip


@dataclass(frozen=True, slots=True, kw_only=True)
class Communities:
    """One entry per community (cluster): its stratum, arm, enumerator and location."""

    cluster_id: np.ndarray  # str
    stratum: np.ndarray  # int index into region_names
    region_names: tuple[str, ...]
    campaign: np.ndarray  # bool
    enumerator: np.ndarray  # int, 0-based
    latitude: np.ndarray
    longitude: np.ndarray
    population: np.ndarray
    country_prefix: np.ndarray  # str, per community
    # Community (cluster) effect of each latent, standard normal: (n_clusters, n_latents).
    effects: np.ndarray
    # Stratum offset of each latent, in latent standard deviations: (n_strata, n_latents).
    stratum_offsets: np.ndarray

    @property
    def n_clusters(self) -> int:
        return len(self.cluster_id)


def draw_communities(
    rng: np.random.Generator,
    *,
    n_clusters: int,
    n_strata: int,
    n_enumerators: int,
    n_latents: int,
) -> Communities:
    """Communities in strata, half of each stratum assigned to the campaign."""
    stratum = np.repeat(np.arange(n_strata), _split(n_clusters, n_strata))
    names: list[str] = []
    region_names: list[str] = []
    codes: list[str] = []
    for s in range(n_strata):
        region, code, *_ = REGIONS[s % len(REGIONS)]
        suffix = "" if s < len(REGIONS) else f" {s // len(REGIONS) + 1}"
        region_names.append(region + suffix)
        codes.append(code + ("" if s < len(REGIONS) else str(s // len(REGIONS) + 1)))
    counters = [0] * n_strata
    for s in stratum.tolist():
        counters[s] += 1
        names.append(f"{codes[s]}{counters[s]:02d}")
    campaign = np.zeros(n_clusters, dtype=bool)
    for s in range(n_strata):
        members = np.flatnonzero(stratum == s)
        n_campaign = len(members) // 2 + (int(rng.integers(0, 2)) if len(members) % 2 else 0)
        campaign[rng.permutation(members)[:n_campaign]] = True
    # Enumerators work consecutive communities of a region, so arms mix within each workload.
    enumerator = (np.arange(n_clusters) * n_enumerators) // n_clusters
    latitude = np.empty(n_clusters)
    longitude = np.empty(n_clusters)
    prefix = np.empty(n_clusters, dtype=object)
    for s in range(n_strata):
        _, _, country, lat_box, lon_box = REGIONS[s % len(REGIONS)]
        members = stratum == s
        latitude[members] = rng.uniform(lat_box[0], lat_box[1], size=int(members.sum()))
        longitude[members] = rng.uniform(lon_box[0], lon_box[1], size=int(members.sum()))
        prefix[members] = country
    population = np.round(rng.lognormal(np.log(2500.0), 0.5, size=n_clusters))
    return Communities(
        cluster_id=np.array(names, dtype=object),
        stratum=stratum,
        region_names=tuple(region_names),
        campaign=campaign,
        enumerator=enumerator,
        latitude=latitude,
        longitude=longitude,
        population=population,
        country_prefix=prefix,
        effects=rng.standard_normal((n_clusters, n_latents)),
        stratum_offsets=rng.normal(0.0, 0.15, size=(n_strata, n_latents)),
    )


def _split(total: int, parts: int) -> list[int]:
    base, extra = divmod(total, parts)
    return [base + (1 if k < extra else 0) for k in range(parts)]


@dataclass(frozen=True, slots=True, kw_only=True)
class Respondents:
    """Sampled people: community, id, fake identity and stable traits."""

    cluster: np.ndarray  # int index into Communities
    respondent_id: np.ndarray  # str
    name: np.ndarray  # str
    phone: np.ndarray  # str
    latitude: np.ndarray
    longitude: np.ndarray
    gender: np.ndarray  # code 1/2/3
    education: np.ndarray  # code 1..5
    age_years: np.ndarray  # float, at baseline
    household_size: np.ndarray
    relatives_abroad: np.ndarray  # 0/1

    def __len__(self) -> int:
        return len(self.cluster)

    def subset(self, keep: np.ndarray) -> Respondents:
        return Respondents(
            **{name: getattr(self, name)[keep] for name in Respondents.__dataclass_fields__}
        )


def draw_respondents(
    rng: np.random.Generator,
    communities: Communities,
    per_cluster: np.ndarray,
    *,
    id_prefix: str = "",
) -> Respondents:
    """``per_cluster[j]`` respondents in community j, with names, phones and GPS points."""
    cluster = np.repeat(np.arange(communities.n_clusters), per_cluster)
    n = len(cluster)
    starts = np.cumsum(per_cluster) - per_cluster
    number = np.arange(n) - np.repeat(starts, per_cluster) + 1
    width = max(3, len(str(int(per_cluster.max(initial=1)))))
    ids = [
        f"{community}-{id_prefix}{k:0{width}d}"
        for community, k in zip(
            communities.cluster_id[cluster].tolist(), number.tolist(), strict=True
        )
    ]
    given = np.array(GIVEN_NAMES, dtype=object)[rng.integers(0, len(GIVEN_NAMES), n)]
    family = np.array(FAMILY_NAMES, dtype=object)[rng.integers(0, len(FAMILY_NAMES), n)]
    gender = np.where(rng.random(n) < 0.56, 1, 2)
    gender[rng.random(n) < 0.005] = 3
    return Respondents(
        cluster=cluster,
        respondent_id=np.array(ids, dtype=object),
        name=given + " " + family,
        phone=_phones(rng, communities.country_prefix[cluster]),
        # About a kilometre around the community centre.
        latitude=np.round(communities.latitude[cluster] + rng.normal(0, 0.008, n), 6),
        longitude=np.round(communities.longitude[cluster] + rng.normal(0, 0.008, n), 6),
        gender=gender,
        education=rng.choice(np.arange(1, 6), size=n, p=[0.25, 0.30, 0.20, 0.18, 0.07]),
        # A young population: the campaigns target 18-35 year olds.
        age_years=np.minimum(18.0 + rng.gamma(2.0, 4.5, n), 64.0),
        household_size=np.minimum(1 + rng.poisson(6.5, n), 60),
        relatives_abroad=(rng.random(n) < 0.5).astype(np.int64),
    )


def _phones(rng: np.random.Generator, country: np.ndarray) -> np.ndarray:
    """Senegal "+221 77 123 45 67" or Gambia "+220 712 3456", by the community's country."""
    n = len(country)
    digits = (rng.integers(0, 10, size=(n, 7)) + ord("0")).astype(np.uint8)
    senegal_operator = np.array([b"77", b"78", b"76", b"70"], dtype="S2")[rng.integers(0, 4, n)]
    gambia_operator = np.array([b"7", b"3", b"2", b"9"], dtype="S1")[rng.integers(0, 4, n)]
    senegal = np.frombuffer(b"+221 00 000 00 00" * n, dtype=np.uint8).reshape(n, 17).copy()
    senegal[:, 5:7] = senegal_operator.view(np.uint8).reshape(n, 2)
    senegal[:, [8, 9, 10, 12, 13, 15, 16]] = digits
    gambia = np.frombuffer(b"+220 000 0000" * n, dtype=np.uint8).reshape(n, 13).copy()
    gambia[:, 5] = gambia_operator.view(np.uint8)
    gambia[:, [6, 7, 9, 10, 11, 12]] = digits[:, :6]
    phones = _split_text(gambia.tobytes().decode("ascii"), 13)
    in_senegal = np.flatnonzero(country == "+221")
    phones[in_senegal] = _split_text(senegal[in_senegal].tobytes().decode("ascii"), 17)
    return phones


def uuid4_strings(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` random version-4 UUIDs as text, drawn from ``rng`` (reproducible)."""
    raw = rng.integers(0, 256, size=(n, 16), dtype=np.uint8)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    hex_digits = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
    digits = np.empty((n, 32), dtype=np.uint8)
    digits[:, 0::2] = hex_digits[raw >> 4]
    digits[:, 1::2] = hex_digits[raw & 0x0F]
    text = np.full((n, 36), ord("-"), dtype=np.uint8)
    for target, source in ((0, 0), (9, 8), (14, 12), (19, 16), (24, 20)):
        width = {0: 8, 9: 4, 14: 4, 19: 4, 24: 12}[target]
        text[:, target : target + width] = digits[:, source : source + width]
    return _split_text(text.tobytes().decode("ascii"), 36)


def _split_text(joined: str, width: int) -> np.ndarray:
    """Fixed-width pieces of one long string, as an object array of str."""
    pieces = [joined[start : start + width] for start in range(0, len(joined), width)]
    return np.array(pieces, dtype=object)
