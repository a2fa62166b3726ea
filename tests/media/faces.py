"""Presenter test media built from the two real portraits in tests/data/faces (see SOURCE.md):
green-screen and real-scene takes with a little movement, a take shot sideways, two people,
no face, a small face, a take with a silent pause; ID cards (front with a face, back without)
and a blurred one. Frames are drawn with Pillow and encoded by the imageio-ffmpeg binary."""

from __future__ import annotations

import math
import subprocess
from pathlib import Path
from typing import Any

from tests.media.factory import CachedMedia, built_once, ffmpeg, run_ffmpeg

FACES = Path(__file__).resolve().parent.parent / "data" / "faces"
PEOPLE = {"astronaut": "astronaut.jpg", "hopper": "grace_hopper.jpg"}
#: The face region of each portrait (left, top, right, bottom in the source image): the crop
#: is about 2.2 face heights around the face the HOG detector finds there.
CROPS = {"astronaut": (120, 20, 370, 270), "hopper": (120, 50, 420, 350)}
SPEECH = "0.3*sin(2*PI*180*t)*(0.55+0.45*sin(2*PI*4*t))"


def head(person: str, width: int) -> Any:
    """The portrait's head-and-shoulders crop, `width` pixels wide."""
    from PIL import Image

    img = Image.open(FACES / PEOPLE[person]).convert("RGB").crop(CROPS[person])
    return img.resize((width, round(width * img.height / img.width)), Image.Resampling.LANCZOS)


def _background(w: int, h: int, kind: str) -> Any:
    from PIL import Image, ImageDraw

    if kind == "green":
        return Image.new("RGB", (w, h), (0, 177, 64))
    img = Image.new("RGB", (w, h), (200, 184, 154))
    d = ImageDraw.Draw(img)
    d.rectangle((w * 0.05, h * 0.05, w * 0.3, h * 0.35), fill=(210, 225, 236), outline=(90,) * 3,
                width=6)
    for i in range(12):
        x = w * (0.6 + 0.03 * i)
        d.rectangle((x, h * 0.08, x + w * 0.02, h * 0.25), fill=((i * 53) % 255, 60, 120))
    d.rectangle((0, h * 0.8, w, h), fill=(107, 74, 46))
    for i in range(0, w, max(8, w // 40)):
        d.line((i, h * 0.8, i + w // 20, h), fill=(80, 55, 35), width=3)
    return img


def backdrop(w: int, h: int, bg: str, poster: str | None = None) -> Any:
    """The background, with a still portrait (a poster, a monitor) at the top right."""
    base = _background(w, h, bg)
    if poster:
        pw = int(w * 0.16)
        base.paste(head(poster, pw), (int(w * 0.8), int(h * 0.04)))
    return base


def frame(t: float, *, w: int, h: int, people: tuple[str, ...], scale: float, bg: str,
          shake: float = 0.0, sway: float = 6.0, sizes: tuple[float, ...] | None = None,
          poster: str | None = None, blur: float = 0.0) -> Any:
    """One frame at time `t`: the background, each person's head with a small sway (never
    still at the whole seconds where the key frames are); `blur` blurs the faces (a frame
    the detector finds hard)."""
    base = backdrop(w, h, bg, poster)
    if shake:
        from PIL import ImageChops

        base = ImageChops.offset(base, int(shake * w * math.sin(2 * math.pi * t / 1.3)), 0)
    n = len(people)
    for i, person in enumerate(people):
        hw = int(w * scale / n * (sizes[i] if sizes else 1.0))
        face = head(person, hw)
        if blur:
            from PIL import ImageFilter

            face = face.filter(ImageFilter.GaussianBlur(blur))
        cx = w * (i + 0.5) / n + sway * math.sin(2 * math.pi * t / 2 + 0.9)
        base.paste(face, (int(cx - hw / 2), int(h * 0.12 + 3 * math.sin(2 * math.pi * t + 0.9))))
    return base


class FaceMedia(CachedMedia):
    """Makes presenter media into `root`, reusing earlier ones with the same parameters."""

    @built_once
    def video(self, *, people: tuple[str, ...] = ("astronaut",), scale: float = 1.15,
              bg: str = "green", seconds: float = 4.0, turn: int = 0, rotation: int = 0,
              width: int = 720, height: int = 1280, pause: tuple[float, float] | None = None,
              shake: float = 0.0, audio: bool = True,
              away: tuple[float, float] | None = None, sway: float = 6.0,
              sizes: tuple[float, ...] | None = None, poster: str | None = None,
              hard: tuple[float, float] | None = None) -> Path:
        """A take; `turn` stores the picture turned clockwise by that many degrees with no
        metadata (shot sideways), `rotation` stores it turned with display rotation metadata
        that shows it upright; `pause` = (start, end) seconds of silence in the speech;
        `away` = (start, end) seconds in which nobody is in the picture; `sway` how far (pixels)
        the presenter sways from side to side; `sizes` scales each person's head; `poster`
        hangs a still portrait behind; `hard` = (start, end) seconds in which the faces are
        blurred (a stretch the detector finds hard)."""
        params = dict(locals())
        params.pop("self")
        out, have = self._path("face-video", params, ".mp4")
        if have:
            return out
        fps, clip_s = 5, 2.0
        if away or hard:  # every frame drawn (no loop): the stretch is where it is asked
            clip_s = seconds
        clip = out.with_suffix(".clip.nut")
        cmd = [ffmpeg(), "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
               "-f", "rawvideo", "-pix_fmt", "rgb24"]
        turned = (turn or rotation) in (90, 270)
        sw, sh = (height, width) if turned else (width, height)
        cmd += ["-s", f"{sw}x{sh}", "-r", str(fps), "-i", "-", "-c:v", "libx264",
                "-preset", "ultrafast", "-crf", "26", "-g", str(fps), "-pix_fmt", "yuv420p",
                str(clip)]
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
        assert proc.stdin is not None
        for i in range(int(fps * clip_s)):
            gone = away is not None and away[0] <= i / fps <= away[1]
            blur = 40.0 if hard is not None and hard[0] <= i / fps <= hard[1] else 0.0
            img = frame(i / fps, w=width, h=height, people=people, scale=scale, bg=bg,
                        shake=shake, sway=sway, sizes=sizes, poster=poster,
                        blur=blur) if people and not gone else None
            if not people or gone:
                img = backdrop(width, height, bg, poster)
            deg = turn or rotation
            if deg and img is not None:
                img = img.rotate(-deg, expand=True)  # PIL turns counter-clockwise
            assert img is not None
            proc.stdin.write(img.tobytes())
        _, err = proc.communicate()
        assert proc.returncode == 0, err
        loops = 0 if away or hard else int(seconds // clip_s) + 1
        args = ["-stream_loop", str(loops)]
        if rotation:
            args += ["-display_rotation", str(rotation)]
        args += ["-i", str(clip)]
        amap: list[str] = []
        if audio:
            expr = SPEECH
            if pause:
                expr += f"*(1-between(t\\,{pause[0]}\\,{pause[1]}))"
            args += ["-f", "lavfi", "-i", f"aevalsrc={expr}:s=48000:c=mono:d={seconds}"]
            amap = ["-map", "1:a", "-c:a", "aac", "-b:a", "64k"]
        run_ffmpeg(*args, "-map", "0:v", *amap, "-c:v", "copy", "-t", f"{seconds:g}",
                   "-movflags", "+faststart", str(out))
        return out

    @built_once
    def id_card(self, *, person: str | None = "astronaut", side: str = "front",
                blur: float = 0.0, faces: int = 1, glare: bool = False,
                width: int = 1200) -> Path:
        """An ID-card-like JPEG: the portrait (greyish, scaled) on the front, an emblem and
        text lines on the back; `blur` is a Gaussian radius over the whole card; `width` the
        card's width in pixels (a low-resolution scan below 1200)."""
        params = dict(locals())
        params.pop("self")
        out, have = self._path("id-card", params, ".jpg")
        if have:
            return out
        from PIL import Image, ImageDraw, ImageFilter

        w, h = 1200, 760
        img = Image.new("RGB", (w, h), (226, 232, 240))
        d = ImageDraw.Draw(img)
        d.rounded_rectangle((10, 10, w - 10, h - 10), radius=40, outline=(90, 110, 140), width=6)
        if side == "front" and person:
            for i in range(faces):
                photo = head(person, 300).convert("L").convert("RGB")
                img.paste(photo, (w - 340 - i * 360, 120))
                if glare:  # a reflection washing out the left half of the photo
                    box = (w - 340 - i * 360, 120, w - 190 - i * 360, 420)
                    white = Image.new("RGB", (box[2] - box[0], box[3] - box[1]), (255,) * 3)
                    img.paste(Image.blend(img.crop(box), white, 0.75), box[:2])
        else:
            d.ellipse((w * 0.06, h * 0.1, w * 0.26, h * 0.42), outline=(180, 40, 40), width=10)
        for i in range(5):
            y = h * 0.18 + i * h * 0.13
            d.rectangle((w * 0.08, y, w * 0.4, y + h * 0.05), fill=(70, 80, 95))
        if blur:
            img = img.filter(ImageFilter.GaussianBlur(blur))
        if width != w:  # a low-resolution scan
            img = img.resize((width, round(h * width / w)), Image.Resampling.LANCZOS)
        img.save(out, "JPEG", quality=90)
        return out
