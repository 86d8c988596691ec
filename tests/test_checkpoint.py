"""Checkpoints: round trip, atomic writes, refusing unsafe or broken files."""

import pickle

import pytest
import torch

from aecodec.checkpoint import load_checkpoint, load_model, save_checkpoint
from aecodec.errors import CheckpointError
from aecodec.models import Autoencoder


def test_round_trip_gives_identical_outputs(tmp_path):
    torch.manual_seed(0)
    model = Autoencoder(6, 2, 16)
    save_checkpoint(tmp_path / "m.pt", model, training={"step": 7, "history": {"loss": [0.5]}})
    loaded = load_model(tmp_path / "m.pt")
    assert loaded.config == model.config and not loaded.training
    x = torch.rand(2, 3, 20, 24)
    with torch.no_grad():
        assert torch.equal(model.eval()(x), loaded(x))
    assert load_checkpoint(tmp_path / "m.pt")["training"]["step"] == 7


class Exploit:
    """Unpickling this would create a file: the proof that code ran."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_malicious_pickle_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    state = {"format": "aecodec-checkpoint", "version": 1, "payload": Exploit(str(marker))}
    torch.save(state, path)
    with pytest.raises(CheckpointError, match="refused"):
        load_model(path)
    assert not marker.exists()
    # the same goes for a plain pickle file
    path.write_bytes(pickle.dumps(Exploit(str(marker))))
    with pytest.raises(CheckpointError):
        load_model(path)
    assert not marker.exists()


@pytest.mark.parametrize("content, message", [
    (b"", "not a readable checkpoint"),
    (b"garbage" * 100, "not a readable checkpoint"),
])
def test_corrupt_files(tmp_path, content, message):
    (tmp_path / "bad.pt").write_bytes(content)
    with pytest.raises(CheckpointError, match=message):
        load_model(tmp_path / "bad.pt")


def test_truncated_checkpoint(tmp_path):
    save_checkpoint(tmp_path / "m.pt", Autoencoder(4, 2, 8))
    data = (tmp_path / "m.pt").read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_model(tmp_path / "cut.pt")


def test_other_formats_and_versions(tmp_path):
    torch.save({"weights": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="not an aecodec checkpoint"):
        load_model(tmp_path / "other.pt")
    torch.save({"format": "aecodec-checkpoint", "version": 99}, tmp_path / "future.pt")
    with pytest.raises(CheckpointError, match="version 99"):
        load_model(tmp_path / "future.pt")
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        load_model(tmp_path / "missing.pt")


def test_config_that_does_not_fit_the_weights(tmp_path):
    save_checkpoint(tmp_path / "m.pt", Autoencoder(4, 2, 8))
    state = load_checkpoint(tmp_path / "m.pt")
    state["config"]["latent_channels"] = 5
    torch.save(state, tmp_path / "m.pt")
    with pytest.raises(CheckpointError, match="do not fit"):
        load_model(tmp_path / "m.pt")


def test_interrupted_save_leaves_old_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "m.pt"
    save_checkpoint(path, Autoencoder(4, 2, 8))
    before = path.read_bytes()

    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("os.fsync", crash)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(path, Autoencoder(8, 2, 8))
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.pt"], "no temporary file left over"


def test_written_files_get_normal_permissions(tmp_path):
    import os
    import stat

    save_checkpoint(tmp_path / "m.pt", Autoencoder(4, 2, 8))
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE((tmp_path / "m.pt").stat().st_mode) == 0o666 & ~mask
