"""`twin bench identity --data DIR` reads a RAVDESS-named folder: enrols the first half of each
split's actors, names or abstains on the rest, and writes what it counted."""

from __future__ import annotations

import json
import shutil

import pytest
from conftest import fixture_path

from tests.test_cli import twin

pytestmark = pytest.mark.models


def test_real_voice_identity_bench_on_a_ravdess_named_folder(tmp_path):
    # two real fixture speakers as RAVDESS actors 1 and 2 (DEV): spk1 enrolled, spk2 the stranger
    for actor, spk in ((1, 1), (2, 2)):
        folder = tmp_path / "rav" / f"Actor_{actor:02d}"
        folder.mkdir(parents=True)
        n = 0
        for emotion, takes in (("01", ("01", "02")), ("02", ("01", "02")), ("05", ("01",))):
            for take in takes:
                for statement in ("01", "02"):
                    n = n % 6 + 1
                    src = fixture_path(f"speechbrain_samples/ASR/spk{spk}_snt{n}.wav")
                    shutil.copy(src, folder / f"03-01-{emotion}-01-{statement}-{take}-{actor:02d}.wav")
    out = tmp_path / "identity.json"
    r = twin(
        "bench", "identity", "--data", str(tmp_path / "rav"), "--json", str(out), data_dir=tmp_path / "d"
    )
    assert r.returncode == 0, r.stderr
    rows = [x for x in json.loads(out.read_text())["results"] if x.get("split") == "DEV" and "rule" in x]
    by = {(x["rule"], x["group"]): x for x in rows}
    # enrolled on 4 neutral + 2 calm first takes; tested on 2 calm second takes and 2 angry clips
    assert by[("normalised", "enrolled, calm")]["clips"] == 2
    assert by[("normalised", "enrolled, emotional")]["clips"] == 2
    assert by[("normalised", "strangers")]["clips"] == 10  # every clip of the stranger
    # spk1's own sentences are named (the stand-in folder repeats them: this checks the counting)
    assert by[("normalised", "enrolled, calm")].get("right", 0) >= 1
    for (rule, group), row in by.items():
        outcomes = ("named", "abstained") if group == "strangers" else ("right", "abstained", "wrong")
        assert sum(row.get(k, 0) for k in outcomes) == row["clips"], (rule, group, row)
    print({k: v for k, v in by.items() if k[1] == "strangers"})
    assert "| DEV | normalised | strangers | 10 |" in r.stdout
