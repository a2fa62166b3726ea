"""Calibration of the green-screen measurements on synthetic frames with realistic defects.

The numbers quoted in `preflight.inspect.green` and the GRN rule docs come from these cases;
the assertions keep the defaults between the worst passing and the best failing case.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest
from PIL import Image

from preflight.inspect.green import FrameGreen, Params, analyse_frame

H, W = 320, 180
RNG = np.random.default_rng(1)
YY, XX = np.mgrid[0:H, 0:W].astype(np.float32)
VIGNETTE = 1 - 0.45 * (((XX - W / 2) / (W / 2)) ** 2 + ((YY - H / 2) / (H / 2)) ** 2) / 2
FALLOFF = 1 - 0.55 * XX / W
GRADIENT = 0.7 + 0.6 * YY / H
SPREAD_MAX = 0.15          # GRN004 max_uneven default
ON_SUBJECT_MAX = 0.25      # GRN005 max_green_on_subject default
RING_MIN, SIDE_MIN, SIDE_FULL = 0.6, 0.35, 0.8


def rgb(hexcode: str) -> Any:
    return np.array([int(hexcode[i:i + 2], 16) for i in (1, 3, 5)], np.float32)


def plain(hexcode: str) -> Any:
    return np.broadcast_to(rgb(hexcode), (H, W, 3)).astype(np.float32).copy()


def presenter(img: Any, shirt: tuple[int, int, int] = (43, 58, 85)) -> Any:
    skin = (224, 172, 138)
    head = ((XX - W / 2) / (W * 0.13)) ** 2 + ((YY - H * 0.33) / (H * 0.1)) ** 2 <= 1
    neck = (abs(XX - W / 2) < W * 0.05) & (YY > H * 0.4) & (YY < H * 0.5)
    img[(abs(XX - W / 2) < W * 0.33) & (YY > H * 0.48)] = shirt
    img[neck] = skin
    img[head] = skin
    return img


def lit(img: Any, gain: Any) -> Any:
    return img * gain[..., None]


def noisy(img: Any, sigma: float = 10) -> Any:
    return img + RNG.normal(0, sigma, img.shape)


def jpeg(img: Any, quality: int = 70) -> Any:
    buf = io.BytesIO()
    Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(buf, "JPEG", quality=quality)
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB")).astype(np.float32)


def measure(img: Any) -> FrameGreen:
    return analyse_frame(np.clip(img, 0, 255).astype(np.uint8), 0.0, Params())


def office() -> Any:
    img = plain("#C8B89A")
    img[int(H * 0.66):] = rgb("#6B4A2E")
    img[30:100, 10:70] = rgb("#D8E4EC")
    img[40:200, 140:170] = rgb("#707070")
    img[150:220, 5:40] = rgb("#3C7A3A")
    return noisy(presenter(img))


def half_green() -> Any:
    img = plain("#C8B89A")
    img[:, : int(W * 0.6)] = rgb("#00B140")
    return noisy(presenter(img))


def shadow(level: float) -> Any:
    img = plain("#00B140")
    img[:, : W // 3] *= level
    return noisy(presenter(img))


GOOD = {
    "flat #00B140": presenter(plain("#00B140")),
    "flat #00FF00": presenter(plain("#00FF00")),
    "flat #3DBE5A": presenter(plain("#3DBE5A")),
    "noise #00B140": noisy(presenter(plain("#00B140"))),
    "noise #00FF00": noisy(presenter(plain("#00FF00"))),
    "noise #3DBE5A": noisy(presenter(plain("#3DBE5A"))),
    "gradient ±30%": presenter(lit(plain("#00B140"), GRADIENT)),
    "vignette 55%": noisy(presenter(lit(plain("#00B140"), VIGNETTE))),
    "fall-off 45%": noisy(presenter(lit(plain("#00B140"), FALLOFF))),
    "vignette+fall-off+jpeg": jpeg(noisy(presenter(lit(plain("#00B140"), VIGNETTE * FALLOFF)))),
}


@pytest.mark.parametrize("name", list(GOOD))
def test_realistic_green_screens_pass(name: str) -> None:
    m = measure(GOOD[name])
    assert m.kind(RING_MIN, SIDE_MIN, SIDE_FULL) == "green", m       # ring 0.88, sides 1.0
    assert m.luma_spread < SPREAD_MAX, m.luma_spread                   # worst: fall-off 0.09
    assert m.green_on_subject < ON_SUBJECT_MAX, m.green_on_subject     # about 0.08
    assert m.touches == ()
    assert 0.3 < m.subject_fraction < 0.5


def test_office_background_is_not_green() -> None:
    m = measure(office())
    assert m.kind(RING_MIN, SIDE_MIN, SIDE_FULL) == "none"              # ring 0.05
    assert m.ring_green < 0.2


@pytest.mark.parametrize("key", ["#0047BB", "#1E5AE6"])
def test_blue_keys_are_blue(key: str) -> None:
    m = measure(noisy(presenter(plain(key))))
    assert m.kind(RING_MIN, SIDE_MIN, SIDE_FULL) == "blue"              # ring blue 0.99
    assert m.ring_green < 0.05


def test_screen_covering_part_of_the_frame_is_partial() -> None:
    m = measure(half_green())
    assert m.kind(RING_MIN, SIDE_MIN, SIDE_FULL) == "partial"           # ring 0.46, right 0.01
    assert m.sides["left"] > 0.9 and m.sides["right"] < 0.1


@pytest.mark.parametrize(("name", "img"), [("shadow at 45% over a third", shadow(0.45)),
                                           ("shadow at 60% over a third", shadow(0.6)),
                                           ("wrinkles ±25%", noisy(presenter(lit(
                                               plain("#00B140"),
                                               1 + 0.25 * np.sin(2 * np.pi * XX / 20)))))])
def test_shadows_and_wrinkles_exceed_the_spread(name: str, img: Any) -> None:
    m = measure(img)
    assert m.kind(RING_MIN, SIDE_MIN, SIDE_FULL) == "green"
    assert m.luma_spread > SPREAD_MAX, m.luma_spread                   # 0.35, 0.23, 0.54


def test_green_shirt_is_seen_under_the_head() -> None:
    m = measure(noisy(presenter(plain("#00B140"), shirt=(31, 168, 60))))
    assert m.green_on_subject > ON_SUBJECT_MAX                         # 0.94


def test_dark_pixels_have_no_colour() -> None:
    m = measure(plain("#050805"))
    assert m.ring_green == 0.0 and m.ring_blue == 0.0
