"""The training loop: it learns, it is reproducible, and resuming equals not stopping."""

import pytest
import torch

from aecodec import training
from aecodec.checkpoint import load_checkpoint
from aecodec.data import CenterCropDataset, PatchDataset
from aecodec.metrics import psnr, quantize_8bit
from aecodec.models import Autoencoder
from aecodec.training import evaluate, fit, learning_rate, make_loader


def small_model(seed=0):
    torch.manual_seed(seed)
    return Autoencoder(latent_channels=8, downsamplings=2, hidden_channels=16)


def test_a_few_hundred_steps_on_one_image_clearly_lower_the_loss(smooth_image):
    dataset = PatchDataset([smooth_image], patch_size=32, patches_per_image=16)
    history = fit(small_model(), dataset, steps=300, batch_size=8, lr=3e-3,
                  device="cpu", progress=False)
    first, last = history["loss"][:20], history["loss"][-20:]
    assert len(history["loss"]) == 300 and history["step"][-1] == 300
    assert sum(last) / 20 < 0.25 * sum(first) / 20


def test_same_seed_same_weights(smooth_image):
    dataset = PatchDataset([smooth_image], patch_size=16, patches_per_image=4)
    a, b = small_model(), small_model()
    fit(a, dataset, steps=15, batch_size=4, device="cpu", progress=False)
    fit(b, dataset, steps=15, batch_size=4, device="cpu", progress=False)
    for (name, p), q in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(p, q), name


class InterruptAfter(torch.utils.data.Dataset):
    """Wraps a dataset and raises KeyboardInterrupt (like Ctrl-C) at the n-th item read."""

    def __init__(self, dataset, n):
        self.dataset, self.n, self.reads = dataset, n, 0

    def set_epoch(self, epoch):
        self.dataset.set_epoch(epoch)

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, index):
        self.reads += 1
        if self.reads == self.n:
            raise KeyboardInterrupt
        return self.dataset[index]


@pytest.mark.parametrize("interrupt_at_read", [4 * 7 + 2, 4 * 9 + 1])
def test_resume_equals_uninterrupted_training(tmp_path, smooth_image, interrupt_at_read):
    # 10 patches, batches of 4: epochs of 3 batches (4, 4, 2), so runs cross epochs
    dataset = PatchDataset([smooth_image], patch_size=16, patches_per_image=10, seed=3)
    settings = dict(steps=20, batch_size=4, lr=2e-3, seed=5, device="cpu", progress=False)

    straight = small_model()
    expected = fit(straight, dataset, **settings)

    path = tmp_path / "ckpt.pt"
    with pytest.raises(KeyboardInterrupt):
        fit(small_model(), InterruptAfter(dataset, interrupt_at_read), checkpoint=path, **settings)
    stopped_at = load_checkpoint(path)["training"]["step"]
    assert 0 < stopped_at < 20

    resumed = small_model(seed=99)  # different init: everything must come from the checkpoint
    history = fit(resumed, dataset, checkpoint=path, resume=True, **settings)
    assert history["loss"] == expected["loss"]
    for (name, p), q in zip(straight.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(p, q), name


def test_resume_with_another_model_is_refused(tmp_path, smooth_image):
    dataset = PatchDataset([smooth_image], patch_size=16, patches_per_image=4)
    path = tmp_path / "ckpt.pt"
    fit(small_model(), dataset, steps=2, batch_size=4, checkpoint=path, device="cpu",
        progress=False)
    from aecodec.errors import CheckpointError
    with pytest.raises(CheckpointError, match="was trained with"):
        fit(Autoencoder(4, 2, 16), dataset, steps=4, batch_size=4, checkpoint=path,
            resume=True, device="cpu", progress=False)


def test_resuming_from_a_shipped_model_says_why_it_cannot(tmp_path, smooth_image):
    from aecodec.errors import CheckpointError
    from aecodec.zoo import plain_path

    path = tmp_path / "ae_c8.pt"
    path.write_bytes(plain_path(8).read_bytes())  # weights only, no optimizer state
    dataset = PatchDataset([smooth_image], patch_size=16, patches_per_image=4)
    with pytest.raises(CheckpointError, match="holds no optimizer state"):
        fit(Autoencoder(8, 3, 64), dataset, steps=2, batch_size=4, checkpoint=path,
            resume=True, device="cpu", progress=False)


def test_checkpoints_and_validation_history(tmp_path, smooth_image):
    dataset = PatchDataset([smooth_image], patch_size=16, patches_per_image=8)
    val = CenterCropDataset([smooth_image], size=32)
    path = tmp_path / "ckpt.pt"
    history = fit(small_model(), dataset, steps=10, batch_size=4, val_data=val, eval_every=4,
                  checkpoint=path, save_every=4, device="cpu", progress=False)
    assert history["eval_step"] == [4, 8, 10]
    assert len(history["eval_psnr"]) == 3
    saved = load_checkpoint(path)
    assert saved["training"]["step"] == 10
    assert saved["training"]["history"] == history
    assert set(saved["training"]["resume"]) == {"epoch", "batch_in_epoch", "seed", "optimizer"}


def test_evaluate_matches_the_metrics(smooth_image):
    model = small_model().eval()
    val = CenterCropDataset([smooth_image, smooth_image.flip(-1)], size=32)
    result = evaluate(model, torch.utils.data.DataLoader(val, batch_size=1))
    x = torch.stack([val[0], val[1]])
    with torch.no_grad():
        x_hat = quantize_8bit(model(x))
    assert result["psnr"] == pytest.approx(psnr(x, x_hat), abs=1e-4)
    assert result["mse"] == pytest.approx(((x - x_hat) ** 2).mean().item(), rel=1e-5)


def test_make_loader_order_and_skipping():
    dataset = torch.arange(10)
    full = [b.tolist() for b in make_loader(dataset, 3, seed=1, epoch=0)]
    again = [b.tolist() for b in make_loader(dataset, 3, seed=1, epoch=0)]
    other_epoch = [b.tolist() for b in make_loader(dataset, 3, seed=1, epoch=1)]
    skipped = [b.tolist() for b in make_loader(dataset, 3, seed=1, epoch=0, skip_batches=2)]
    assert full == again and full != other_epoch
    assert sorted(sum(full, [])) == list(range(10))
    assert skipped == full[2:]


def test_learning_rate_warms_up_then_decays_along_a_cosine_to_a_tenth():
    assert learning_rate(0.0, 1.0) == pytest.approx(1.0)
    assert learning_rate(0.5, 1.0) == pytest.approx(0.55)  # half-way down the cosine
    assert learning_rate(1.0, 1.0) == pytest.approx(0.1)
    assert learning_rate(0.0, 1.0, warmup=0.2) == pytest.approx(0.1)
    assert learning_rate(0.1, 1.0, warmup=0.2) == pytest.approx(0.55)
    assert learning_rate(0.2, 1.0, warmup=0.2) == pytest.approx(1.0)
    assert learning_rate(0.6, 1.0, warmup=0.2) == pytest.approx(0.55)
    decay = [learning_rate(t / 10, 1.0, warmup=0.2) for t in range(2, 11)]
    assert decay == sorted(decay, reverse=True)


def test_a_time_budget_stops_on_time_and_saves(smooth_image, tmp_path, monkeypatch):
    # a fake clock on which every step takes exactly one second
    ticks = iter(range(10**6))
    monkeypatch.setattr(training.time, "perf_counter", lambda: float(next(ticks)))
    dataset = PatchDataset([smooth_image], patch_size=16, patches_per_image=4)
    path = tmp_path / "budget.pt"
    history = fit(small_model(), dataset, minutes=0.5, batch_size=4, checkpoint=path,
                  device="cpu", progress=False)
    assert len(history["loss"]) == 30  # 0.5 minutes of 1-second steps
    saved = load_checkpoint(path)["training"]
    assert saved["step"] == 30 and saved["seconds"] == 30.0


def test_the_first_budget_spent_ends_training(smooth_image):
    dataset = PatchDataset([smooth_image], patch_size=16, patches_per_image=4)
    history = fit(small_model(), dataset, steps=7, minutes=10, batch_size=4, device="cpu",
                  progress=False)
    assert len(history["loss"]) == 7


def test_a_budget_is_required(smooth_image):
    dataset = PatchDataset([smooth_image], patch_size=16, patches_per_image=4)
    with pytest.raises(ValueError, match="budget"):
        fit(small_model(), dataset, device="cpu", progress=False)


def test_train_rd_curve_splits_one_budget_over_a_warm_started_chain(
        smooth_image, tmp_path, monkeypatch):
    from dataclasses import replace

    from aecodec.codec import compress, decompress
    from aecodec.recipes import RD_SMALL, train_rd_curve

    ticks = iter(range(10**6))  # a fake clock: every step takes one second
    monkeypatch.setattr(training.time, "perf_counter", lambda: float(next(ticks)))
    images = [smooth_image, smooth_image.flip(-1)]
    recipe = replace(RD_SMALL, model=replace(RD_SMALL.model, latent_channels=6,
                                             downsamplings=2, hidden_channels=8))
    models = train_rd_curve(images, (0.01, 0.001, 0.003), minutes=0.2, recipe=recipe,
                            out_dir=tmp_path, progress=False)
    assert list(models) == [0.001, 0.003, 0.01]
    config = models[0.01].config  # the recipe's sizes
    assert (config.latent_channels, config.downsamplings, config.hidden_channels) == (6, 2, 8)
    saved = {lm: load_checkpoint(tmp_path / f"rd_lambda{lm}.pt")["training"] for lm in models}
    # the largest lambda from scratch for half of the 12 s, the others 3 s each, warm-started
    assert saved[0.01]["step"] == 6 and not saved[0.01]["recipe"]["warm_start"]
    assert saved[0.003]["step"] == 3 and saved[0.003]["recipe"]["warm_start"]
    assert saved[0.001]["step"] == 3 and saved[0.001]["recipe"]["warm_start"]
    for lmbda, model in models.items():
        assert model.config.lmbda == lmbda and not model.training
        x_hat = decompress(model, compress(model, smooth_image))  # coding tables are in place
        assert x_hat.shape == smooth_image.shape
    assert not torch.equal(models[0.01].encoder.layers[0].weight,
                           models[0.001].encoder.layers[0].weight)


def test_the_progress_bar_prints_the_step_as_a_whole_number(smooth_image, tmp_path,
                                                            monkeypatch, capsys):
    dataset = PatchDataset([smooth_image], patch_size=16, patches_per_image=4)
    path = tmp_path / "ckpt.pt"
    fit(small_model(), dataset, steps=1, batch_size=4, checkpoint=path, device="cpu",
        progress=False)
    # resume as if 9,999 steps were done: tqdm would print a plain number 10000 as "1e+4"
    monkeypatch.setattr(training, "_restore", lambda *args: training.TrainingState(step=9_999))
    fit(small_model(), dataset, steps=10_001, batch_size=4, checkpoint=path, resume=True,
        device="cpu")
    err = capsys.readouterr().err
    assert "step=10001" in err and "e+" not in err


def test_bfloat16_mixed_precision_keeps_the_entropy_model_and_weights_in_float32(smooth_image):
    from aecodec.models import RateDistortionAutoencoder

    torch.manual_seed(0)
    fp32 = RateDistortionAutoencoder(6, 2, 8)
    bf16 = RateDistortionAutoencoder(6, 2, 8)
    bf16.load_state_dict(fp32.state_dict())
    x = smooth_image[None, :, :32, :32]  # (1, 3, 32, 32)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = bf16.encode(x)
        _, likelihoods = bf16.prior(y)
    assert y.dtype == torch.bfloat16 and likelihoods.dtype == torch.float32
    losses = []
    for model, bfloat16 in ((fp32, False), (bf16, True)):
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        torch.manual_seed(1)  # the same noise in both
        losses.append(training.train_step(model, x, optimizer, bfloat16=bfloat16))
    assert losses[1] == pytest.approx(losses[0], rel=0.03)  # bfloat16 keeps ~3 digits
    assert losses[1] != losses[0]  # and did compute in bfloat16
    assert all(p.dtype == torch.float32 for p in bf16.parameters())


@pytest.mark.parametrize("native", [True, False])
def test_fit_uses_bfloat16_only_where_the_hardware_has_it(smooth_image, monkeypatch, native):
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: native)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)
    used = []
    step = training.train_step
    monkeypatch.setattr(training, "train_step",
                        lambda *args: used.append(args[4]) or step(*args))
    dataset = PatchDataset([smooth_image], patch_size=16, patches_per_image=4)
    fit(small_model(), dataset, steps=2, batch_size=4, device="cpu", progress=False)
    assert used == [native, native]
    assert training.fast_bfloat16("cpu") is native
    fit(small_model(), dataset, steps=1, batch_size=4, device="cpu", progress=False,
        bfloat16=not native)  # an explicit choice wins
    assert used[-1] is (not native)
