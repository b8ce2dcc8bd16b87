"""Reference values of the studentized range distribution from SciPy (tests/emmeans_reference.rs).

R's ptukey/qtukey are accurate to only ~1e-5 for few df (for k = 2 and df = 2 its upper tail is
off by 8e-5 against the closed form 2 P(T_2 > q/sqrt 2)), so SciPy's independent, tightly
converged implementation (scipy.stats.studentized_range) is the high-accuracy reference.
Run from the repository root: python3 tests/reference/studentized_range.py (needs scipy).
"""
import json
import math

import scipy
from scipy.stats import studentized_range as sr

out = {"scipy": scipy.__version__, "sf": [], "ppf": []}
for q in [0.5, 1.7, 3.2, 4.4, 6.0, 9.0]:
    for k in [2, 3, 6, 15]:
        for df in [2, 5, 24.3, 333, math.inf]:
            out["sf"].append([q, k, df if math.isfinite(df) else -1, float(sr.sf(q, k, df))])
for p in [0.9, 0.95, 0.99]:
    for k in [2, 3, 6, 15]:
        for df in [3, 24.3, 333, math.inf]:
            out["ppf"].append([p, k, df if math.isfinite(df) else -1, float(sr.ppf(p, k, df))])
with open("tests/fixtures/emmeans/studentized_range.json", "w") as f:
    json.dump(out, f, indent=1)
print("wrote tests/fixtures/emmeans/studentized_range.json")
