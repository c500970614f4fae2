"""The training loop on a tiny network: EMA, learning-rate drop, R1 on schedule, --init with a
released-layout file, resume == uninterrupted, SIGINT leaves a loadable checkpoint, exports."""

from __future__ import annotations

import math
import os
import signal

import pytest
import torch

from gpen_desktop.core.checkpoints import inspect_checkpoint, load_checkpoint
from gpen_desktop.core.training import checkpoints as ck
from gpen_desktop.core.training.config import TrainConfigError
from gpen_desktop.core.training.loop import Trainer, ema_update


def _losses(records):
    return [(r["step"], r["losses"]) for r in records if "losses" in r]


def test_ema_update_moves_each_weight_by_one_minus_decay():
    a, b = torch.nn.Linear(3, 2), torch.nn.Linear(3, 2)
    before = [p.detach().clone() for p in a.parameters()]
    ema_update(a, b, 0.9)
    for p_ema, p_old, p in zip(a.parameters(), before, b.parameters(), strict=True):
        assert torch.allclose(p_ema, 0.9 * p_old + 0.1 * p)


def test_learning_rate_drops_after_its_share_of_the_steps_and_r1_runs_on_schedule(tiny, read_log):
    config = tiny(steps=5, lr=1e-3, lr_drop_at=0.6, lr_drop_to=1e-4, r1_every=2, save_every=5)
    trainer = Trainer(config)
    trainer.run()
    records = [r for r in read_log(config.out) if "losses" in r]
    assert [r["lr"] for r in records] == [1e-3, 1e-3, 1e-3, 1e-4, 1e-4]
    assert [g["lr"] for g in trainer.g_optim.param_groups] == [1e-4]
    # R1 on step indices 0, 2, 4 (records for steps done 1, 3, 5), finite
    assert [("r1" in r["losses"]) for r in records] == [True, False, True, False, True]
    assert all(math.isfinite(r["losses"]["r1"]) for r in records if "r1" in r["losses"])
    assert all(0 <= r["data_wait"] <= 1 for r in records)


def test_g_ema_follows_g_with_the_configured_decay(tiny):
    trainer = Trainer(tiny(steps=1, ema_decay=0.5, ema_warmup=False))
    start = [p.detach().clone() for p in trainer.g_ema.parameters()]
    trainer.run()
    for p_ema, p0, p in zip(trainer.g_ema.parameters(), start, trainer.g.parameters(), strict=True):
        assert torch.allclose(p_ema, 0.5 * p0 + 0.5 * p, atol=1e-6)


def test_a_released_flat_file_initialises_g_and_g_ema(tiny, tmp_path):
    from gpen_desktop.core.gpen import random_checkpoint

    released = random_checkpoint(
        tmp_path / "GPEN-BFR-64.pth", 64, narrow=0.0625, style_dim=64, n_mlp=2
    )
    sd = torch.load(released, weights_only=True)
    config = tiny(init=str(released), size=None, narrow=None, style_dim=None, n_mlp=None)
    trainer = Trainer(config)
    assert trainer.config.size == 64 and trainer.config.narrow == 0.0625
    for name, tensor in trainer.g.state_dict().items():
        if not name.endswith(".kernel"):
            assert torch.equal(tensor, sd[name]) and torch.equal(
                trainer.g_ema.state_dict()[name], sd[name]
            )


def test_an_init_file_of_another_size_is_a_one_line_error(tiny, tiny_checkpoint):
    # tiny_checkpoint: size 64, narrow 0.125, style_dim 512
    with pytest.raises(TrainConfigError) as err:
        Trainer(tiny(init=str(tiny_checkpoint)))
    text = str(err.value)
    assert "\n" not in text and "narrow 0.125 (this run: 0.0625)" in text
    assert "style_dim 512 (this run: 64)" in text


def test_init_d_loads_a_discriminator_file_and_refuses_another_width(tiny, tmp_path):
    from gpen_desktop.core.gpen import Discriminator

    d = Discriminator(64, narrow=0.0625)
    torch.save(d.state_dict(), tmp_path / "GPEN-64-D.pth")
    trainer = Trainer(tiny(init_d=str(tmp_path / "GPEN-64-D.pth")))
    assert all(
        torch.equal(a, b)
        for a, b in zip(trainer.d.state_dict().values(), d.state_dict().values(), strict=True)
    )
    torch.save(Discriminator(64, narrow=0.125).state_dict(), tmp_path / "wide-D.pth")
    with pytest.raises(TrainConfigError, match=r"narrow 0.125 \(this run: 0.0625\)"):
        Trainer(tiny(init_d=str(tmp_path / "wide-D.pth")))


def test_resume_reproduces_an_uninterrupted_run_exactly(tiny, tmp_path, read_log):
    whole = tiny(out=str(tmp_path / "whole"), steps=4, save_every=2, r1_every=2)
    Trainer(whole).run()
    parts = tiny(out=str(tmp_path / "parts"), steps=4, save_every=2, r1_every=2)
    first = Trainer(parts)
    first.run(until=2)
    assert first.step == 2 and ck.latest_checkpoint(parts.out).name == "step_000002.pth"
    from gpen_desktop.core.training.config import TrainConfig

    again = Trainer(TrainConfig.from_file(tmp_path / "parts" / "config.toml"), resume=True)
    assert again.step == 2
    again.run()
    assert _losses(read_log(parts.out)) == _losses(read_log(whole.out))
    a = torch.load(tmp_path / "whole" / "model.pth", weights_only=True)
    b = torch.load(tmp_path / "parts" / "model.pth", weights_only=True)
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_gpen_preset_runs_path_length_and_r1(tiny, read_log):
    config = tiny(preset="gpen", steps=1, identity=0.0, save_every=1)
    Trainer(config).run()
    record = next(r for r in read_log(config.out) if "losses" in r)
    assert {"d", "r1", "smooth_l1", "adversarial", "path"} <= set(record["losses"])
    assert all(math.isfinite(v) for v in record["losses"].values())


def test_sigint_saves_a_loadable_checkpoint_and_stops(tiny, read_log):
    config = tiny(steps=50, save_every=100)

    def interrupt(record):
        if record["step"] == 2:
            os.kill(os.getpid(), signal.SIGINT)

    result = Trainer(config, progress=interrupt).run()
    assert result.stopped == "SIGINT" and result.step == 2
    assert result.checkpoint == ck.checkpoint_path(config.out, 2)
    loaded = load_checkpoint(result.checkpoint)  # the app's loader picks g_ema
    assert loaded.info.in_size == 64 and "g_ema" in loaded.info.format
    assert inspect_checkpoint(f"{config.out}/model.pth").format == "state_dict"
    assert read_log(config.out)[-1] == {**read_log(config.out)[-1], "event": "stop", "step": 2}
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


@pytest.mark.parametrize("fmt", ["flat", "bundle"])
def test_export_in_both_forms_loads_through_core_checkpoints(tiny, tmp_path, fmt):
    config = tiny(steps=2)
    Trainer(config).run()
    out, step = ck.export(config.out, tmp_path / f"model-{fmt}.pth", fmt)
    info = inspect_checkpoint(out)
    assert step == 2 and info.in_size == 64 and info.narrow == 0.0625
    assert info.format == ("state_dict" if fmt == "flat" else "generator")
    if fmt == "bundle":
        assert info.hints["version"] == "GPEN-BFR-v2.0-64"
    restored = load_checkpoint(out).model
    ema = torch.load(f"{config.out}/model.pth", weights_only=True)
    assert all(torch.equal(v, ema[k]) for k, v in restored.state_dict().items() if k in ema)
    with pytest.raises(Exception, match="exists"):
        ck.export(config.out, out, fmt)


def test_only_the_last_checkpoints_are_kept(tiny):
    config = tiny(steps=4, save_every=1, keep=2)
    Trainer(config).run()
    assert [s for s, _ in ck.list_checkpoints(config.out)] == [3, 4]


def test_bfloat16_autocast_and_gradient_accumulation_train(tiny, read_log):
    config = tiny(steps=1, precision="bfloat16", accumulate=2, batch_size=1)
    trainer = Trainer(config)
    assert trainer.config.effective_batch == 2
    trainer.run()
    record = next(r for r in read_log(config.out) if "losses" in r)
    assert all(math.isfinite(v) for v in record["losses"].values())


def test_grow_from_copies_matching_tensors_and_duplicates_the_last_block(tiny, tmp_path):
    from gpen_desktop.core.gpen import random_checkpoint
    from gpen_desktop.core.training.grow import grown_state_dict

    small_path = random_checkpoint(tmp_path / "g32.pth", 32, narrow=0.0625, style_dim=64, n_mlp=2)
    small = torch.load(small_path, weights_only=True)
    trainer = Trainer(
        tiny(grow_from=str(small_path), size=None, narrow=None, style_dim=None, n_mlp=None)
    )
    assert trainer.config.size == 64 and trainer.config.style_dim == 64
    big = trainer.g.state_dict()
    # mapping, the 4..32 px synthesis, shifted encoder layers: copied
    assert torch.equal(big["generator.style.1.weight"], small["generator.style.1.weight"])
    assert torch.equal(big["generator.convs.5.conv.weight"], small["generator.convs.5.conv.weight"])
    assert torch.equal(big["ecd2.0.1.weight"], small["ecd1.0.1.weight"])
    assert torch.equal(big["final_linear.0.weight"], small["final_linear.0.weight"])
    # the new 64 px block starts as the 32 px one (leading channels where it has fewer)
    new, old = big["generator.convs.6.conv.weight"], small["generator.convs.4.conv.weight"]
    assert torch.equal(new, old[tuple(slice(0, n) for n in new.shape)])
    assert torch.equal(
        big["generator.to_rgbs.3.conv.weight"],
        small["generator.to_rgbs.2.conv.weight"][:, :, : new.shape[2]],
    )
    report = grown_state_dict(small, trainer.g)
    assert {n.split(".")[0] for n in report["fresh"]} == {"ecd1"}
    assert torch.equal(trainer.g_ema.state_dict()["ecd0.0.0.weight"], big["ecd0.0.0.weight"])
    with pytest.raises(Exception, match="must be 64"):
        Trainer(tiny(grow_from=str(small_path), size=128, narrow=None, style_dim=None, n_mlp=None))


def test_keep_best_exports_the_best_validated_g_ema_and_patience_stops(tiny, val_dir, read_log):
    config = tiny(
        steps=12, val=str(val_dir), val_every=1, keep_best=True, patience=2, save_every=100
    )
    config.val_identity = False
    scores = []

    class Spy(Trainer):
        def validate(self):
            out = super().validate()
            # a made-up score: better at step 1, worse after, so step 1 is kept and the run
            # stops after two validations without a gain
            out["psnr"]["restored"] = 30.0 if self.step == 1 else 20.0 - self.step
            scores.append((self.step, out["psnr"]["restored"]))
            return out

    trainer = Spy(config)
    result = trainer.run()
    assert result.early_stop and result.stopped is None and result.step == 3
    assert result.best == {"step": 1, "psnr": 30.0}
    best = torch.load(f"{config.out}/best.pth", weights_only=True)
    model = torch.load(f"{config.out}/model.pth", weights_only=True)
    assert all(torch.equal(best[k], model[k]) for k in best)
    assert not all(torch.equal(model[k], v.cpu()) for k, v in trainer.g_ema.state_dict().items())
    events = [r for r in read_log(config.out) if r.get("event") == "best"]
    assert [e["step"] for e in events] == [1]


def test_the_adversarial_term_waits_for_its_start(tiny, read_log):
    config = tiny(steps=3, adversarial_start=2, save_every=3)
    Trainer(config).run()
    records = [r["losses"] for r in read_log(config.out) if "losses" in r]
    assert ["adversarial" in r for r in records] == [False, False, True]
    assert ["d" in r for r in records] == [False, False, True]


def test_the_finetune_preset_needs_a_model_and_held_out_faces(tiny, tmp_path, val_dir):
    from gpen_desktop.core.gpen import random_checkpoint

    with pytest.raises(TrainConfigError, match="--init FILE"):
        Trainer(tiny(preset="finetune"))
    released = random_checkpoint(tmp_path / "m.pth", 64, narrow=0.0625, style_dim=64, n_mlp=2)
    shape = dict(size=None, narrow=None, style_dim=None, n_mlp=None)
    with pytest.raises(TrainConfigError, match="--keep-best needs held-out faces"):
        Trainer(tiny(preset="finetune", init=str(released), **shape))
    trainer = Trainer(tiny(preset="finetune", init=str(released), val=str(val_dir), **shape))
    c = trainer.config
    assert (c.lr, c.ema_decay, c.val_every, c.keep_best, c.patience) == (2e-5, 0.99, 250, True, 4)
    assert c.adversarial_start == 1000


def test_a_finetune_scores_the_released_model_first(tiny, tmp_path, val_dir, read_log):
    from gpen_desktop.core.gpen import random_checkpoint

    released = random_checkpoint(tmp_path / "m.pth", 64, narrow=0.0625, style_dim=64, n_mlp=2)
    shape = dict(size=None, narrow=None, style_dim=None, n_mlp=None)
    config = tiny(preset="finetune", init=str(released), val=str(val_dir), steps=2, **shape)
    config.val_every, config.val_identity = 1, False
    result = Trainer(config).run()
    vals = [r["step"] for r in read_log(config.out) if "val" in r]
    assert vals == [0, 1, 2] and result.best is not None
    model = torch.load(f"{config.out}/model.pth", weights_only=True)
    best = torch.load(f"{config.out}/best.pth", weights_only=True)
    assert all(torch.equal(model[k], best[k]) for k in best)
