"""Realistic Anny body shapes, from children to the elderly.

Anny's six phenotypes are not centred on a typical adult (all at 0.5 is
roughly a 13-year-old; adult ages span only ~0.77-0.83 of ``age``), so
hand-picked uniform values give unrealistic people.  Anny ships a
WHO-calibrated prior, ``SimpleShapeDistribution``: a morphological age in
years maps to Anny's ``age``, and height, weight, muscle and proportions are
Beta distributions conditioned on age and sex.  We reuse its calibrated
parameters but draw from a caller-supplied ``numpy.random.Generator`` (the
library samples from torch's global RNG), so synthetic data is reproducible
per seed and worker.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch

if TYPE_CHECKING:
    from lihmr_ros.body.anny_model import AnnyBody

CONDITIONED_PHENOTYPES: tuple[str, ...] = ("height", "weight", "muscle", "proportions")
"""Phenotypes whose Beta distribution depends on age and sex in Anny's prior."""

TYPICAL_ADULT_AGE_YEARS = 30.0
"""Morphological age of the template body: an adult, past growth, before ageing."""

_typical_adult_cache: dict[tuple[str, ...], np.ndarray] = {}


class AnnyShapeSampler:
    """Draws (n, 6) phenotype vectors in the order of ``body.shape_labels``."""

    def __init__(self, body: "AnnyBody", age_range_years: tuple[float, float] = (5.0, 85.0)) -> None:
        """``age_range_years``: uniform range of morphological ages (children to elderly by default)."""
        low, high = age_range_years
        if not 0.0 <= low < high <= 110.0:
            raise ValueError(f"age_range_years must satisfy 0 <= low < high <= 110, got {age_range_years}")
        from lihmr_ros.body.anny_model import import_anny

        import_anny()
        from anny.shape_distribution import SimpleShapeDistribution

        self._prior = SimpleShapeDistribution(body.model)
        self._labels = body.shape_labels
        self._dtype = body.dtype
        self.age_range_years = (float(low), float(high))

    def sample(self, rng: np.random.Generator, n: int) -> torch.Tensor:
        """``n`` random bodies: age uniform in years, sex 50/50 (continuous), the rest from the prior."""
        ages_years = rng.uniform(*self.age_range_years, size=n)
        gender = rng.uniform(0.0, 1.0, size=n)
        values = self.phenotypes_for(ages_years, gender, rng)
        return torch.as_tensor(values, dtype=self._dtype)

    def phenotypes_for(
        self, ages_years: np.ndarray, gender: np.ndarray, rng: np.random.Generator | None
    ) -> np.ndarray:
        """(n, 6) phenotypes for given ages and genders; ``rng=None`` takes each distribution's mean.

        Anny's gender runs from 0 (male) to 1 (female); like the library's own
        sampler, gender <= 0.5 draws from the male ("boys") tables.
        """
        mapping = self._prior.morphological_age_mapping
        age = mapping.morphological_to_anny_age(torch.as_tensor(ages_years, dtype=mapping.anny_age_anchors.dtype))
        is_male = torch.as_tensor(gender) <= 0.5
        columns: dict[str, np.ndarray] = {"age": age.double().numpy(), "gender": np.asarray(gender, dtype=np.float64)}
        for label in CONDITIONED_PHENOTYPES:
            alpha, beta = self._beta_parameters(label, age, is_male)
            if rng is None:
                columns[label] = alpha / (alpha + beta)
            else:
                columns[label] = rng.beta(alpha, beta)
        missing = [label for label in self._labels if label not in columns]
        if missing:
            raise ValueError(f"the shape prior does not cover phenotypes {missing}")
        return np.stack([columns[label] for label in self._labels], axis=1)

    def _beta_parameters(self, label: str, age: torch.Tensor, is_male: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        male = getattr(self._prior, f"boys_conditional_{label}_distribution")
        female = getattr(self._prior, f"girls_conditional_{label}_distribution")
        age = age.to(male.age_anchors.dtype)
        male_alpha, male_beta = male.get_distribution_params(age)
        female_alpha, female_beta = female.get_distribution_params(age)
        alpha = torch.where(is_male, male_alpha, female_alpha)
        beta = torch.where(is_male, male_beta, female_beta)
        return alpha.double().numpy(), beta.double().numpy()


def typical_adult_phenotypes(body: "AnnyBody") -> np.ndarray:
    """(6,) phenotypes of the template body: a sex-neutral 30-year-old of average build.

    Gender 0.5 sits between Anny's male and female targets; every other
    phenotype is the mean of the male and female prior means at that age.
    """
    key = body.shape_labels
    if key not in _typical_adult_cache:
        sampler = AnnyShapeSampler(body)
        age = np.array([TYPICAL_ADULT_AGE_YEARS, TYPICAL_ADULT_AGE_YEARS])
        # Averaging a male (gender 0) and a female (gender 1) body also puts gender at 0.5.
        male_and_female = sampler.phenotypes_for(age, np.array([0.0, 1.0]), rng=None)
        _typical_adult_cache[key] = male_and_female.mean(axis=0)
    return _typical_adult_cache[key].copy()
