"""Photo-style renders (issue 14): photographic pixels, exact masks, reproducible draws."""

from __future__ import annotations

import json

import numpy as np
import pytest
import trimesh
from scipy.ndimage import distance_transform_edt

from svr_desktop.data import appearance
from svr_desktop.data.appearance import PART_GAMMA, sample_photo_appearance
from svr_desktop.data.backgrounds import make_background
from svr_desktop.data.builder import BuildConfig, build_dataset
from svr_desktop.data.environment_maps import ENVIRONMENTS, environment_map
from svr_desktop.data.photo_effects import apply_camera, darken_midtones, draw_distractors, project_onto_ground, shade_ground
from svr_desktop.data.render import Renderer, render_object
from svr_desktop.geometry.frames import normalize_mesh, random_rotation
from svr_desktop.geometry.sampling import SamplingConfig
from svr_desktop.progress import run_to_completion

SIZE = 96


@pytest.fixture(scope="module")
def photo_renderer():
    with Renderer(image_size=SIZE, scale_jitter=0.0, style="photo") as r:
        yield r


def _part() -> trimesh.Trimesh:
    """A plate with a boss: flat faces for shadows, a cylinder for reflections."""
    plate = trimesh.creation.box(extents=(1.0, 0.6, 0.15))
    boss = trimesh.creation.cylinder(radius=0.18, height=0.4, sections=32)
    boss.apply_translation((0.2, 0.0, 0.2))
    return normalize_mesh(trimesh.util.concatenate([plate, boss]))[0]


def test_photo_mask_is_the_studio_mask(photo_renderer):
    """Shadows, distractors and camera effects touch pixels, never the silhouette."""
    rng = np.random.default_rng(5)
    with Renderer(image_size=SIZE, scale_jitter=0.0, style="studio") as studio:
        for _ in range(4):
            rotation = random_rotation(rng)
            _, _, photo = render_object(_part(), rotation, np.random.default_rng(1), photo_renderer)
            _, _, plain = render_object(_part(), rotation, np.random.default_rng(2), studio)
            assert np.array_equal(photo.mask, plain.mask)
            assert photo.a == plain.a


def test_photo_style_is_reproducible_and_serializable(photo_renderer):
    rotation = random_rotation(np.random.default_rng(3))
    first = render_object(_part(), rotation, np.random.default_rng(42), photo_renderer)[2]
    again = render_object(_part(), rotation, np.random.default_rng(42), photo_renderer)[2]
    other = render_object(_part(), rotation, np.random.default_rng(43), photo_renderer)[2]
    assert first.image.tobytes() == again.image.tobytes()
    assert first.appearance == again.appearance
    assert first.image.tobytes() != other.image.tobytes()
    stored = json.loads(json.dumps(first.appearance))
    assert stored == first.appearance and stored["style"] == "photo"


def test_photo_draws_cover_the_promised_variety():
    """Materials, grounds, camera effects and distractors all occur, each drawn from the seed."""
    rng = np.random.default_rng(0)
    draws = [sample_photo_appearance(rng) for _ in range(300)]
    assert {d["material"]["kind"] for d in draws} == {"steel", "aluminium", "dark_metal", "cast", "brass", "painted", "plastic"}
    assert {d["background"]["kind"] for d in draws} == {"plain", "gradient", "noise", "wood", "mat", "sheet"}
    assert any(d["distractors"] for d in draws) and any(not d["distractors"] for d in draws)
    assert any(d["camera"]["jpeg_quality"] for d in draws) and any(d["camera"]["blur"] for d in draws)
    assert all(0.0 <= d["material"]["roughness"] <= 1.0 for d in draws)
    gammas = np.array([d["part_gamma"] for d in draws])
    assert gammas.min() >= PART_GAMMA[0] and gammas.max() <= PART_GAMMA[1] and gammas.std() > 0.2
    # The key light stays well above the tilted ground, so shadows stay finite.
    for d in draws:
        light = np.asarray(d["lights"][0]["position"])
        assert np.dot(d["ground"]["normal"], light / np.linalg.norm(light)) >= 0.4 - 1e-9
    for kind in ("wood", "mat", "sheet"):
        # One whose two colours differ clearly: a faint sheet is nearly flat at 64 px.
        spec = next(
            d["background"] for d in draws
            if d["background"]["kind"] == kind and np.ptp([np.mean(c) for c in d["background"]["colors"]]) > 0.1
        )
        ground = make_background(spec, 64)
        assert ground.shape == (64, 64, 3) and ground.dtype == np.uint8
        assert ground.std() > 2.0  # a texture, not a flat colour
        assert np.array_equal(ground, make_background(spec, 64))


def test_dark_parts_on_dark_grounds_are_drawn_on_purpose():
    """About DARK_ON_DARK_SHARE of views put a near-black part of any family on a dark ground of any kind."""
    rng = np.random.default_rng(1)
    draws = [sample_photo_appearance(rng) for _ in range(1000)]
    dark = [
        d for d in draws
        if appearance._luminance(d["material"]["color"]) <= appearance._DARK_PART[1] + 1e-6
        and appearance._ground_luminance(d["background"]) <= appearance._DARK_GROUND[1] + 1e-6
    ]
    # Left to chance, the draws of look 2 gave about 2 %; the share drawn on purpose comes on top.
    assert appearance.DARK_ON_DARK_SHARE - 0.03 < len(dark) / len(draws) < appearance.DARK_ON_DARK_SHARE + 0.06
    assert len({d["background"]["kind"] for d in dark}) == 6
    assert len({d["material"]["kind"] for d in dark}) == 7


def test_a_darkened_ground_keeps_its_texture_at_the_wanted_brightness():
    rng = np.random.default_rng(3)
    wood = next(g for g in (appearance._sample_photo_background(rng) for _ in range(200)) if g["kind"] == "wood")
    dark = appearance._darkened(wood, 0.08)
    assert dark["kind"] == "wood" and dark["seed"] == wood["seed"]
    assert appearance._ground_luminance(dark) == pytest.approx(0.08)
    pixels = make_background(dark, 64).astype(float)
    assert pixels.mean() < 0.15 * 255 and pixels.std() > 1.0  # dark, still grained
    assert np.corrcoef(pixels.ravel(), make_background(wood, 64).astype(float).ravel())[0, 1] > 0.9


def test_environment_maps_are_fixed_by_their_index():
    first = environment_map(3)
    assert first.shape == (128, 256, 3) and np.isfinite(first).all() and first.min() > 0
    assert np.array_equal(first, environment_map(3))
    assert not np.array_equal(first, environment_map(4))
    assert first.max() > 3 * np.median(first)  # softboxes stand out: they make the highlights
    with pytest.raises(ValueError):
        environment_map(ENVIRONMENTS)


def test_environment_lights_metal(photo_renderer):
    """A mirror-like sphere shows its environment: two maps give two different pictures."""
    sphere = trimesh.creation.icosphere(3, radius=0.45)
    appearance = sample_photo_appearance(np.random.default_rng(0))
    appearance["material"] = {"kind": "steel", "color": [0.7, 0.7, 0.7], "metallic": 1.0, "roughness": 0.2}
    appearance["lights"] = []
    looks = []
    for index in (0, 5):
        appearance["environment"] = {"map": index, "up": [0.0, 1.0, 0.0], "right": [1.0, 0.0, 0.0]}
        colour, coverage = photo_renderer._draw(sphere, 0.55, appearance)
        inside = coverage > 0.99
        assert colour[inside].mean() > 40  # lit by the environment alone
        looks.append(colour[inside])
    assert np.abs(looks[0] - looks[1]).mean() > 5


def test_cast_shadow_points_lie_on_the_ground_along_the_light():
    rng = np.random.default_rng(0)
    vertices = rng.uniform(-0.5, 0.5, (200, 3))
    normal = np.array([0.3, -0.2, 1.0]) / np.linalg.norm([0.3, -0.2, 1.0])
    light = np.array([1.0, 2.0, 3.0])
    moved = project_onto_ground(vertices, normal, light)
    height = moved @ normal
    assert np.allclose(height, (vertices @ normal).min())
    offsets = moved - vertices
    cross = np.cross(offsets, light)
    assert np.allclose(cross, 0.0, atol=1e-9)
    assert (offsets @ light <= 1e-12).all()  # away from the light


def test_ground_only_darkens_and_only_near_shadows():
    background = np.full((64, 64, 3), 200.0)
    shadow = np.zeros((64, 64))
    shadow[40:, 40:] = 1.0
    part = np.zeros((64, 64))
    part[10:20, 10:20] = 1.0
    ground = {"shadow": 0.5, "softness": 0.01, "contact": 0.3, "contact_radius": 0.01}
    shaded = shade_ground(background, shadow, part, ground)
    assert (shaded <= background).all()
    assert shaded[55, 55, 0] == pytest.approx(100.0, abs=2.0)
    assert shaded[2, 62, 0] == pytest.approx(200.0)  # far from both
    assert shaded[15, 21, 0] < 200.0  # contact shadow beside the part


def test_distractors_keep_clear_of_the_part():
    background = np.full((96, 96, 3), 180.0)
    part = np.zeros((96, 96), bool)
    part[20:70, 25:75] = True
    specs = [
        {"kind": kind, "size": 0.12, "color": [0.2, 0.2, 0.2], "angle_deg": 30.0, "seed": seed}
        for seed, kind in enumerate(("washer", "nut", "bar"))
    ]
    drawn = draw_distractors(background, part, specs, np.array([1.0, 1.0, 2.0]))
    changed = np.abs(drawn - background).max(axis=2) > 1.0
    assert changed.sum() > 100  # they are there
    near_part = np.zeros_like(part)
    near_part[18:72, 23:77] = True  # the part and one pixel around it
    assert not changed[near_part].any()


def test_midtone_darkening_keeps_black_white_and_the_coverage():
    straight = np.array([[0.0, 60.0, 128.0, 200.0, 255.0]])[..., None].repeat(3, axis=-1)
    coverage = np.array([[1.0, 1.0, 0.5, 1.0, 0.25]])
    premultiplied = straight * coverage[..., None]
    assert np.allclose(darken_midtones(premultiplied, coverage, 1.0), premultiplied)
    toned = darken_midtones(premultiplied, coverage, 2.0) / coverage[..., None]
    assert toned[0, 0, 0] == 0.0 and np.isclose(toned[0, 4, 0], 255.0)
    assert np.allclose(toned[0, 1:4, 0], 255.0 * (straight[0, 1:4, 0] / 255.0) ** 2)  # edge pixels by their own colour
    empty = np.zeros((2, 2))
    assert np.array_equal(darken_midtones(np.zeros((2, 2, 3)), empty, 2.0), np.zeros((2, 2, 3)))


def test_the_part_tone_darkens_the_part_and_nothing_else(photo_renderer, monkeypatch):
    """Every other draw is the same, so the ground away from the part is unchanged."""
    rotation = random_rotation(np.random.default_rng(3))
    looks = {}
    for gamma in (1.0, 2.2):
        monkeypatch.setattr(appearance, "PART_GAMMA", (gamma, gamma))
        looks[gamma] = render_object(_part(), rotation, np.random.default_rng(8), photo_renderer)[2]
    plain, toned = looks[1.0], looks[2.2]
    assert np.array_equal(plain.mask, toned.mask) and toned.appearance["part_gamma"] == 2.2
    luminance = lambda view: view.image.astype(float).mean(axis=-1)  # noqa: E731
    assert luminance(toned)[toned.mask].mean() < 0.8 * luminance(plain)[plain.mask].mean()
    far = distance_transform_edt(~plain.mask) > 6  # beyond blur and JPEG blocks
    assert np.abs(luminance(toned)[far] - luminance(plain)[far]).mean() < 1.0


def test_camera_effects_are_seeded_and_neutral_settings_change_nothing():
    rng = np.random.default_rng(0)
    image = rng.uniform(0, 255, (64, 64, 3))
    neutral = {"exposure": 1.0, "white_balance": [1.0, 1.0, 1.0], "vignetting": 0.0, "blur": 0.0, "noise": 0.0, "jpeg_quality": 0, "seed": 1}
    assert np.array_equal(apply_camera(image, neutral), np.round(image).astype(np.uint8))
    strong = {**neutral, "vignetting": 0.3, "blur": 0.01, "noise": 0.02, "jpeg_quality": 60}
    once, twice = apply_camera(image, strong), apply_camera(image, strong)
    assert np.array_equal(once, twice) and once.dtype == np.uint8
    assert not np.array_equal(once, apply_camera(image, {**strong, "seed": 2}))
    flat = apply_camera(np.full((64, 64, 3), 200.0), {**neutral, "vignetting": 0.3})
    assert flat[32, 32, 0] > flat[0, 0, 0]  # corners darker


def test_a_build_from_before_the_render_style_resumes_as_studio(tmp_path):
    """build.json written before issue 14 has no render_style: it meant the studio look."""
    small = dict(views=1, image_size=32, shapes_per_shard=1, val_points=50, sampling=SamplingConfig(surface_points=100, uniform_points=20))
    config = BuildConfig(shapes=1, render_style="studio", **small)
    run_to_completion(build_dataset(tmp_path, config))
    settings = json.loads((tmp_path / "build.json").read_text())
    assert settings["config"]["render_style"] == "studio"
    del settings["config"]["render_style"]
    (tmp_path / "build.json").write_text(json.dumps(settings))
    run_to_completion(build_dataset(tmp_path, config))  # accepted: same build
    with pytest.raises(ValueError, match="other settings"):
        run_to_completion(build_dataset(tmp_path, BuildConfig(shapes=1, render_style="photo", **small)))


def test_a_photo_build_of_an_earlier_look_is_not_resumed_with_the_new_one(tmp_path):
    small = dict(views=1, image_size=32, shapes_per_shard=1, val_points=50, sampling=SamplingConfig(surface_points=100, uniform_points=20))
    config = BuildConfig(shapes=2, render_style="photo", **small)
    run_to_completion(build_dataset(tmp_path, config))
    settings = json.loads((tmp_path / "build.json").read_text())
    assert settings["photo_look"] == appearance.PHOTO_LOOK
    del settings["photo_look"]  # as builds before the part's tone wrote it
    (tmp_path / "build.json").write_text(json.dumps(settings))
    with pytest.raises(ValueError, match="photo look 1 .* new folder"):
        run_to_completion(build_dataset(tmp_path, config))


def test_unknown_render_style_is_refused():
    with pytest.raises(ValueError, match="render style"):
        Renderer(style="painting")
    with pytest.raises(ValueError, match="render style"):
        BuildConfig(shapes=1, render_style="painting")
