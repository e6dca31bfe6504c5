"""Pictures that are not radiographs, made here (numpy, Pillow, matplotlib): a sinusoid, gradients,
grey and colour screenshots, a text page, figures and a colour photograph; for ingest's and the
reading room's picture checks."""

from __future__ import annotations

import io

import cv2
import numpy as np

RNG_SEED = 22
WORDS = [
    "the",
    "chest",
    "radiograph",
    "report",
    "impression",
    "findings",
    "normal",
    "heart",
    "lungs",
    "clear",
    "worklist",
    "film",
]


def u8(values: np.ndarray) -> np.ndarray:
    return np.clip(values, 0, 255).astype(np.uint8)


def grid(size: int = 256) -> tuple[np.ndarray, np.ndarray]:
    y, x = np.mgrid[0:size, 0:size].astype(float)
    return y, x


def sinusoid(period: float = 32, size: int = 256, noise: float = 0.0) -> np.ndarray:
    y, x = grid(size)
    wave = 127.5 + 127.5 * np.sin(2 * np.pi * (0.6 * x + 0.8 * y) / period)
    return u8(wave + np.random.default_rng(RNG_SEED).normal(0, noise, wave.shape) if noise else wave)


def cloudy(shape: tuple[int, int], beta: float, seed: int) -> np.ndarray:
    """Power-law noise in [0, 1] (clouds, terrain): the texture of the natural-looking pictures below."""
    rng = np.random.default_rng(seed)
    f = np.fft.fftfreq(shape[0])[:, None] ** 2 + np.fft.fftfreq(shape[1])[None, :] ** 2
    f[0, 0] = 1
    spectrum = (rng.normal(size=shape) + 1j * rng.normal(size=shape)) / f ** (beta / 4)
    spectrum[0, 0] = 0
    image = np.real(np.fft.ifft2(spectrum))
    return (image - image.min()) / (image.max() - image.min())


def colour_photo() -> np.ndarray:
    """A synthetic landscape, RGB: sky, a horizon, textured ground, a sun, trees, sensor noise."""
    rng = np.random.default_rng(RNG_SEED)
    height, width = 600, 800
    t = np.linspace(0, 1, height)[:, None]
    sky = np.stack([90 + 80 * t, 150 + 60 * t, 235 - 20 * t], -1) * np.ones((1, width, 1))
    terrain, texture = cloudy((height, width), 3.0, 5), cloudy((height, width), 1.5, 9)
    horizon = (0.45 + 0.25 * cloudy((1, width), 2.5, 7)[0])[None, :] * height
    ground = np.stack(
        [60 + 80 * terrain + 30 * texture, 110 + 90 * terrain + 20 * texture, 40 + 40 * terrain], -1
    )
    photo = np.where((np.arange(height)[:, None] > horizon)[..., None], ground, sky)
    cv2.circle(photo, (620, 110), 45, (255, 230, 120), -1)
    for _ in range(12):
        centre = (int(rng.uniform(0, width)), int(rng.uniform(height * 0.5, height * 0.9)))
        axes = (int(rng.uniform(15, 40)), int(rng.uniform(30, 70)))
        cv2.ellipse(photo, centre, axes, 0, 0, 360, (30, 90 + rng.uniform(0, 50), 30), -1)
    return u8(cv2.GaussianBlur(photo, (0, 0), 1.2) + rng.normal(0, 3, photo.shape))


def screenshot(colour: bool) -> np.ndarray:
    """A user interface drawn with Pillow: a title bar, a list of rows of text; RGB or grey."""
    from PIL import Image, ImageDraw, ImageFont

    rng = np.random.default_rng(RNG_SEED)
    try:
        font = ImageFont.truetype("DejaVuSans.ttf", 15)
    except OSError:
        font = ImageFont.load_default()
    image = Image.new("RGB", (1000, 800), (235, 238, 245))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 1000, 50), fill=(31, 111, 235))
    draw.text((20, 15), "Worklist   Films   Settings", fill=(255, 255, 255), font=font)
    for i in range(12):
        top = 70 + i * 55
        draw.rectangle((20, top, 980, top + 45), outline=(180, 180, 190), fill=(255, 255, 255))
        draw.text((30, top + 15), " ".join(rng.choice(WORDS, 8)), fill=(30, 30, 30), font=font)
        draw.rectangle((900, top + 10, 970, top + 35), fill=(45, 164, 78) if i % 3 else (210, 40, 40))
    array = np.asarray(image)
    return array if colour else cv2.cvtColor(array, cv2.COLOR_RGB2GRAY)


def text_page() -> np.ndarray:
    """Grey text on a light page (a scanned letter, a text screenshot)."""
    from PIL import Image, ImageDraw, ImageFont

    rng = np.random.default_rng(RNG_SEED)
    try:
        font = ImageFont.truetype("DejaVuSans.ttf", 15)
    except OSError:
        font = ImageFont.load_default()
    page = Image.new("L", (700, 700), 215)
    draw = ImageDraw.Draw(page)
    for row in range(8, 680, 22):
        draw.text((10, row), " ".join(rng.choice(WORDS, 10)), fill=50, font=font)
    return np.asarray(page)


def figure(kind: str) -> np.ndarray:
    """A matplotlib rendering as an RGB array: a line chart, or a colour-mapped image without axes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(RNG_SEED)
    fig, ax = plt.subplots(figsize=(6.4, 4.8), dpi=100)
    if kind == "lines":
        for k in range(4):
            ax.plot(np.cumsum(rng.normal(size=200)), label=f"series {k}")
        ax.legend()
        ax.grid(True)
    else:
        ax.imshow(cloudy((256, 256), 2.5, 3), cmap="terrain")
        ax.set_axis_off()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return cv2.cvtColor(
        cv2.imdecode(np.frombuffer(buffer.getvalue(), np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB
    )
