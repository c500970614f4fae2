"""Each loss term on tiny inputs: 0 for identical images where that holds, gradients reach the
generator and never the frozen backbones; R1 and path length are finite."""

from __future__ import annotations

import math

import pytest
import torch

from gpen_desktop.core.gpen import Discriminator, FullGenerator
from gpen_desktop.core.training import losses as L
from gpen_desktop.core.training.config import TrainConfig


@pytest.fixture(scope="module")
def backbones():
    torch.manual_seed(0)
    return {
        "perceptual": L.VGGFeatures(),  # torchvision VGG-19, weights=None
        "identity": L.ArcFace(),  # facexlib Backbone(50, 0.6, 'ir_se'), random weights
        "lpips": L.lpips_module("alex", None),  # LPIPS(pnet_rand=True): no backbone download
    }


def _objective(backbones, **weights):
    return L.Objective(
        weights={
            t: weights.get(t, 0.0)
            for t in ("l1", "smooth_l1", "perceptual", "identity", "adversarial", "lpips")
        },
        vgg=backbones["perceptual"],
        arcface=backbones["identity"],
        lpips=backbones["lpips"],
    )


@pytest.fixture(scope="module")
def face_tensor(astronaut_face):
    import cv2

    small = cv2.resize(astronaut_face, (64, 64), interpolation=cv2.INTER_AREA)
    return torch.from_numpy(small.transpose(2, 0, 1).copy()).float().div(127.5).sub(1)[None]


SLOW_ARCFACE = pytest.param("identity", marks=pytest.mark.slow)  # IR-SE50: ~10 s of CPU


@pytest.mark.parametrize("term", ["l1", "smooth_l1", "perceptual", SLOW_ARCFACE, "lpips"])
def test_term_is_zero_for_identical_images_and_positive_otherwise(backbones, face_tensor, term):
    obj = _objective(backbones, **{term: 1.0})
    same = obj.generator_terms(face_tensor, face_tensor.clone(), None)[term]
    assert float(same) == pytest.approx(0.0, abs=1e-5)
    other = torch.flip(face_tensor, [3]) * 0.8
    assert float(obj.generator_terms(other, face_tensor, None)[term]) > 1e-4


@pytest.mark.parametrize("term", ["perceptual", SLOW_ARCFACE, "lpips", "adversarial"])
def test_gradients_reach_the_generator_and_never_the_backbones(backbones, face_tensor, term):
    torch.manual_seed(1)
    g = FullGenerator(64, style_dim=64, n_mlp=2, narrow=0.0625)
    d = Discriminator(64, narrow=0.0625).requires_grad_(False)
    obj = _objective(backbones, **{term: 1.0})
    fake = g(face_tensor)
    terms = obj.generator_terms(fake, face_tensor, d(fake) if term == "adversarial" else None)
    terms["total"].backward()
    grads = [p.grad for p in g.parameters()]
    assert all(gr is not None for gr in grads)
    assert sum(float(gr.abs().sum()) for gr in grads) > 0
    for module in (*backbones.values(), d):
        assert all(not p.requires_grad and p.grad is None for p in module.parameters())
    assert not any(m.training for bb in backbones.values() for m in bb.modules())


def test_adversarial_losses_are_the_logistic_ones():
    zero = torch.zeros(4, 1)
    assert float(L.generator_adversarial(zero)) == pytest.approx(math.log(2))
    assert float(L.discriminator_loss(zero, zero)) == pytest.approx(2 * math.log(2))
    # a confident, correct discriminator has a small loss; the generator then a large one
    assert float(L.discriminator_loss(zero + 10, zero - 10)) < 1e-3
    assert float(L.generator_adversarial(zero - 10)) > 9


def test_r1_penalty_is_finite_positive_and_differentiable(face_tensor):
    torch.manual_seed(2)
    d = Discriminator(64, narrow=0.0625)
    penalty = L.r1_penalty(d, face_tensor.repeat(2, 1, 1, 1))
    value = float(penalty.detach())
    assert penalty.dtype == torch.float32 and math.isfinite(value) and value > 0
    penalty.backward()
    assert (
        d.convs[0][0].weight.grad is not None and float(d.convs[0][0].weight.grad.abs().sum()) > 0
    )


def test_path_length_penalty_is_finite_and_updates_its_mean(face_tensor):
    from gpen_desktop.core.training.loop import GeneratorForward

    torch.manual_seed(3)
    r = GeneratorForward(FullGenerator(64, style_dim=64, n_mlp=2, narrow=0.0625))
    image, w = r(face_tensor.repeat(2, 1, 1, 1), with_w=True)
    gen = torch.Generator().manual_seed(0)
    penalty, mean = L.path_length_penalty(image, w, torch.zeros(()), generator=gen)
    assert math.isfinite(float(penalty)) and float(mean) > 0
    penalty.backward()
    assert r.g.generator.style[1].weight.grad is not None


def test_missing_backbones_disable_their_terms_with_one_line_each(tmp_path):
    config = TrainConfig(data="x", out="y", size=64, weights_dir=str(tmp_path)).resolved()
    obj = L.build_objective(config)
    assert sorted(obj.disabled) == ["identity", "lpips", "perceptual"]
    assert config.disabled_losses == ["identity", "lpips", "perceptual"]
    assert len(obj.notes) == 3 and all("\n" not in n and "disabled" in n for n in obj.notes)
    assert obj.active("l1") and obj.active("adversarial") and not obj.active("identity")


def test_strict_losses_make_a_missing_backbone_an_error(tmp_path):
    config = TrainConfig(
        data="x", out="y", size=64, weights_dir=str(tmp_path), strict_losses=True
    ).resolved()
    with pytest.raises(L.LossSetupError, match="perceptual loss needs a backbone.*--vgg"):
        L.build_objective(config)


def test_a_backbone_file_is_recognised_by_its_tensors(tiny_checkpoint, tmp_path):
    with torch.device("meta"):
        from torchvision.models import alexnet, vgg16, vgg19

        assert L._kind_of(vgg19(weights=None).state_dict()) == "vgg19"
        assert L._kind_of(vgg16(weights=None).state_dict()) == "vgg16"
        assert L._kind_of(alexnet(weights=None).state_dict()) == "alexnet"
        from facexlib.recognition.arcface_arch import Backbone

        assert L._kind_of(Backbone(50, 0.6, "ir_se").state_dict()) == "arcface"
    with pytest.raises(L.LossSetupError, match="is not a vgg19 state dict"):
        L.find_backbone("vgg", str(tiny_checkpoint), None)
    # a weights folder without any backbone: nothing found (GPEN files are skipped)
    (tmp_path / "GPEN-tiny.pth").write_bytes(tiny_checkpoint.read_bytes())
    assert L.find_backbone("arcface", None, tmp_path) is None
