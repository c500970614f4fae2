"""`gpen train` against a minimal reference loop (the project's generator, Adam, L1, the same
degradation function): step for step where they must be identical, held-out gain and colour
where they are trained on the same settings (slow), and the fixes that keep colour."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from gpen_desktop.core.degrade import DegradeConfig
from gpen_desktop.core.gpen import FullGenerator
from gpen_desktop.core.training.bench import BENCH_DEGRADATION, ab_shift
from gpen_desktop.core.training.data import FaceDataset, make_loader, recolor, sample_pair
from gpen_desktop.core.training.loop import Trainer
from gpen_desktop.core.training.losses import chroma_loss


def reference_loop(
    paths, steps, *, size=64, shape=(64, 2, 2, 0.0625), lr=2e-4, batch=2, seed=0, color_p=0.0
):
    """The plain loop: seeded FullGenerator, Adam(lr) with torch's default betas, L1 only, the
    trainer's data stream (FaceDataset + make_loader, no workers). Returns (g, losses)."""
    style_dim, n_mlp, cm, narrow = shape
    torch.manual_seed(seed)
    g = FullGenerator(size, style_dim, n_mlp, cm, narrow)
    cfg = DegradeConfig.from_dict(BENCH_DEGRADATION)
    data = iter(
        make_loader(FaceDataset(paths, size, cfg, seed, 0.5, 0.0, color_p), batch, 0, 0, 1, seed)
    )
    opt = torch.optim.Adam(g.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        hq, lq = next(data)
        loss = F.l1_loss(g(lq), hq)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    return g, losses


def _same_as_reference(**changes):
    """TrainConfig fields that make `gpen train` the reference loop: L1 only, float32, Adam 2e-4
    with torch's default betas, no lr drop, g_ema == g (decay 0), no colour variants."""
    return dict(
        adversarial=0.0,
        color=0.0,
        color_p=0.0,
        lr=2e-4,
        precision="float32",
        beta1=0.9,
        beta2=0.999,
        lr_drop_at=1.0,
        ema_decay=0.0,
        ema_warmup=False,
        degradation=dict(BENCH_DEGRADATION),
        **changes,
    )


def test_gpen_train_is_the_reference_loop_step_for_step(tiny, faces_dir, read_log):
    from gpen_desktop.core.training.data import scan_faces

    config = tiny(**_same_as_reference(steps=4, save_every=4, style_dim=64, n_mlp=2))
    trainer = Trainer(config)
    trainer.run()
    mine = [r["losses"]["l1"] for r in read_log(config.out) if "losses" in r]
    g, ref = reference_loop(scan_faces(faces_dir, 64).paths, 4)
    assert mine == pytest.approx(ref, rel=1e-5, abs=1e-6)
    exported = torch.load(f"{config.out}/model.pth", weights_only=True)
    for name, tensor in g.state_dict().items():
        assert torch.allclose(exported[name], tensor, atol=1e-5), name


def test_recolor_changes_both_sides_of_a_pair_alike(astronaut_face):
    cfg = DegradeConfig.only("gaussian_blur", gaussian_blur_p=1.0)
    plain = sample_pair(astronaut_face, (0, 1), 3, cfg, 0.0, 0.0)
    keys = [(0, k) for k in range(8)]
    pairs = [sample_pair(astronaut_face, key, 3, cfg, 0.0, 0.0, color_p=1.0) for key in keys]
    assert all(ab_shift(hq, astronaut_face) > 0.5 for hq, _lq in pairs)
    for hq, lq in pairs:  # the input carries the target's colours
        assert ab_shift(lq, hq) < 0.5
    # turning it on changes nothing else: the same flip and degradation draws
    again = sample_pair(astronaut_face, (0, 1), 3, cfg, 0.0, 0.0, color_p=0.0)
    assert np.array_equal(plain[1], again[1])
    rng = np.random.default_rng(0)
    assert recolor(astronaut_face, rng).dtype == np.uint8


def test_chroma_loss_sees_colour_casts_not_detail():
    torch.manual_seed(0)
    real = torch.rand(2, 3, 64, 64) * 2 - 1
    assert float(chroma_loss(real, real)) == 0.0
    cast = real.clone()
    cast[:, 0] += 0.2  # redder
    noisy_grey = real + (torch.rand(2, 1, 64, 64) - 0.5) * 0.4  # detail, no colour
    assert float(chroma_loss(cast, real)) > 10 * float(chroma_loss(noisy_grey, real))
    fake = real.clone().requires_grad_(True)
    chroma_loss(fake + torch.tensor([0.1, 0.0, 0.0]).view(1, 3, 1, 1), real).backward()
    assert fake.grad is not None and float(fake.grad.abs().sum()) > 0


def test_the_colour_term_is_an_objective_option(tiny, read_log):
    config = tiny(steps=1, color=0.5, save_every=1)
    Trainer(config).run()
    record = next(r for r in read_log(config.out) if "losses" in r)
    assert "color" in record["losses"]
    total = record["losses"]["l1"] + 0.5 * record["losses"]["color"]
    total += 0.005 * record["losses"]["adversarial"]
    assert record["losses"]["total"] == pytest.approx(total, rel=1e-5)


# -- held out: slow ------------------------------------------------------------------------


def _held_out(model_path, val_dir):
    from gpen_desktop.core.evaluate import EvaluateOptions, evaluate

    ev = evaluate(
        EvaluateOptions(
            folder=val_dir,
            model_path=model_path,
            degrade_config=DegradeConfig.from_dict(BENCH_DEGRADATION),
            identity=False,
            lpips=False,
            device="cpu",
        )
    )
    shifts = {"degraded": [], "restored": []}
    for row in ev.sheet_rows:
        hq, degraded, restored = row[0][0], row[1][0], row[2][0]
        shifts["degraded"].append(ab_shift(degraded, hq))
        shifts["restored"].append(ab_shift(restored, hq))
    psnr = {v: ev.summary["psnr"][v]["mean"] for v in ("degraded", "restored")}
    return psnr, {v: float(np.mean(s)) for v, s in shifts.items()}


@pytest.fixture(scope="module")
def sample_faces(tmp_path_factory):
    from gpen_desktop.core.training.sample_faces import sample_face_folders

    return sample_face_folders(tmp_path_factory.mktemp("sample-faces"))


@pytest.mark.slow
def test_held_out_gain_of_gpen_train_matches_the_reference_loop(sample_faces, tmp_path):
    """The issue's comparison on the same setup: the project's generator (64 px), Adam 2e-4,
    L1 only, the same data and degradation; `gpen train` exports g_ema (decay 0 here)."""
    from gpen_desktop.core.training.checkpoints import save_flat
    from gpen_desktop.core.training.config import TrainConfig
    from gpen_desktop.core.training.data import scan_faces

    train_dir, val_dir = sample_faces
    steps, shape = 60, dict(size=64, narrow=0.0625, style_dim=64, n_mlp=2)
    config = TrainConfig(
        data=str(train_dir),
        out=str(tmp_path / "run"),
        steps=steps,
        batch_size=2,
        workers=0,
        tensorboard=False,
        perceptual=0.0,
        identity=0.0,
        lpips=0.0,
        save_every=steps,
        **shape,
        **_same_as_reference(),
    )
    Trainer(config).run()
    mine, mine_ab = _held_out(tmp_path / "run" / "model.pth", val_dir)
    g, _ = reference_loop(scan_faces(train_dir, 64).paths, steps, shape=(64, 2, 2, 0.0625))
    save_flat(g.state_dict(), tmp_path / "reference.pth")
    ref, ref_ab = _held_out(tmp_path / "reference.pth", val_dir)
    assert mine["degraded"] == ref["degraded"]
    gain, ref_gain = (x["restored"] - x["degraded"] for x in (mine, ref))
    assert abs(gain - ref_gain) < 0.05, (gain, ref_gain)
    assert abs(mine_ab["restored"] - ref_ab["restored"]) < 0.1


@pytest.mark.slow
@pytest.mark.skipif(
    not os.environ.get("GPEN_LONG_TESTS"), reason="about 90 s; set GPEN_LONG_TESTS=1"
)
@pytest.mark.timeout(1200)
def test_colour_terms_keep_held_out_faces_in_their_colours(sample_faces, tmp_path):
    """The same tiny model and budget with and without the colour fix (pairs recoloured alike
    on both sides + the low-resolution chroma term): the held-out faces' mean Lab a*/b* shift
    from their originals shrinks to well under half."""
    from gpen_desktop.core.training.config import TrainConfig

    train_dir, val_dir = sample_faces
    shifts = {}
    for name, colour in (("without", dict(color_p=0.0, color=0.0)), ("with", {})):
        config = TrainConfig(
            data=str(train_dir),
            out=str(tmp_path / name),
            size=64,
            narrow=0.0625,
            style_dim=64,
            n_mlp=2,
            steps=300,
            batch_size=4,
            workers=0,
            precision="float32",
            tensorboard=False,
            perceptual=0.0,
            identity=0.0,
            lpips=0.0,
            adversarial=0.0,
            save_every=300,
            degradation=dict(BENCH_DEGRADATION),
            **colour,
        )
        Trainer(config).run()
        _psnr, shifts[name] = _held_out(tmp_path / name / "model.pth", val_dir)
    # measured (CPU, float32): 17.4 without, 4.8 with; the degraded inputs 0.5. The issue asks
    # for no more than the inputs' shift: a 300-step model is not there yet.
    assert shifts["with"]["restored"] < shifts["without"]["restored"] / 2.5, shifts
    assert shifts["with"]["restored"] < 6.0, shifts
