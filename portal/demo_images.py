"""Pictures for the demo, drawn by the project (Pillow), never downloaded.

Each function draws one illustration from a seed, so the same name gives the same
picture on every run: a kind of space seen by a passer-by (park, square, embankment,
courtyard, boulevard, forest park), a design project's rendering in one of three
styles, and a design project's plan seen from above. They are plain JPEG bytes; the
demo stores them through the same service as an upload (re-encoded, with their smaller
copies), so the demo's pages load pictures exactly as real ones.
"""

from __future__ import annotations

import io
import random
import zlib
from collections.abc import Callable

from PIL import Image, ImageDraw, ImageFilter

WIDTH, HEIGHT = 960, 640
JPEG_QUALITY = 82

Colour = tuple[int, int, int]


def _rng(seed: str) -> random.Random:
    return random.Random(zlib.crc32(seed.encode()))  # noqa: S311  (pictures, not secrets)


def _mix(a: Colour, b: Colour, t: float) -> Colour:
    return (round(a[0] + (b[0] - a[0]) * t), round(a[1] + (b[1] - a[1]) * t), round(a[2] + (b[2] - a[2]) * t))


def _sky(draw: ImageDraw.ImageDraw, horizon: int, top: Colour, bottom: Colour) -> None:
    for y in range(horizon):
        draw.line([(0, y), (WIDTH, y)], fill=_mix(top, bottom, y / max(1, horizon)))


def _ground(draw: ImageDraw.ImageDraw, horizon: int, near: Colour, far: Colour) -> None:
    for y in range(horizon, HEIGHT):
        draw.line([(0, y), (WIDTH, y)], fill=_mix(far, near, (y - horizon) / max(1, HEIGHT - horizon)))


def _clouds(draw: ImageDraw.ImageDraw, rng: random.Random, horizon: int) -> None:
    for _ in range(rng.randint(2, 4)):
        x, y = rng.randint(0, WIDTH), rng.randint(20, max(30, horizon // 2))
        for _ in range(5):
            dx, dy, r = rng.randint(-50, 50), rng.randint(-12, 12), rng.randint(22, 40)
            draw.ellipse([x + dx - r, y + dy - r // 2, x + dx + r, y + dy + r // 2], fill=(250, 252, 255))


def _tree(draw: ImageDraw.ImageDraw, x: int, base: int, size: int, rng: random.Random, autumn: bool = False) -> None:
    trunk = max(3, size // 9)
    draw.rectangle([x - trunk, base - size, x + trunk, base], fill=(96, 70, 48))
    greens = (
        [(58, 120, 62), (74, 140, 70), (46, 104, 58)] if not autumn else [(196, 130, 40), (170, 96, 36), (90, 130, 60)]
    )
    for _ in range(6):
        dx, dy = rng.randint(-size // 2, size // 2), rng.randint(-size // 3, size // 5)
        r = rng.randint(size // 3, size // 2)
        cx, cy = x + dx, base - size + dy
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=rng.choice(greens))


def _fir(draw: ImageDraw.ImageDraw, x: int, base: int, size: int) -> None:
    draw.rectangle([x - 3, base - size // 5, x + 3, base], fill=(90, 64, 44))
    for i in range(3):
        w = size // 2 - i * size // 9
        top = base - size + i * size // 5
        draw.polygon([(x, top), (x - w, top + size // 2), (x + w, top + size // 2)], fill=(34, 92 + i * 8, 60))


def _bench(draw: ImageDraw.ImageDraw, x: int, y: int, scale: float = 1.0) -> None:
    w, h = int(46 * scale), int(8 * scale)
    draw.rectangle([x, y, x + w, y + h], fill=(150, 98, 58))
    draw.rectangle([x, y - int(12 * scale), x + w, y - int(7 * scale)], fill=(150, 98, 58))
    for leg in (x + 4, x + w - 6):
        draw.rectangle([leg, y + h, leg + 3, y + h + int(10 * scale)], fill=(60, 60, 66))


def _lamp(draw: ImageDraw.ImageDraw, x: int, y: int, height: int) -> None:
    draw.rectangle([x - 2, y - height, x + 2, y], fill=(56, 60, 70))
    draw.ellipse([x - 8, y - height - 10, x + 8, y - height + 4], fill=(255, 236, 170))


def _person(draw: ImageDraw.ImageDraw, x: int, y: int, size: int, colour: Colour) -> None:
    draw.ellipse([x - size // 5, y - size, x + size // 5, y - size + size // 2.5], fill=(236, 200, 170))
    draw.rounded_rectangle([x - size // 4, y - size + size // 2.6, x + size // 4, y - size // 3], 4, fill=colour)
    draw.rectangle([x - size // 6, y - size // 3, x - 1, y], fill=(50, 56, 80))
    draw.rectangle([x + 1, y - size // 3, x + size // 6, y], fill=(50, 56, 80))


def _building(
    draw: ImageDraw.ImageDraw, x0: int, x1: int, top: int, base: int, colour: Colour, rng: random.Random
) -> None:
    draw.rectangle([x0, top, x1, base], fill=colour)
    lit = _mix(colour, (255, 255, 255), 0.55)
    for wy in range(top + 14, base - 20, 34):
        for wx in range(x0 + 12, x1 - 20, 30):
            draw.rectangle([wx, wy, wx + 16, wy + 20], fill=lit if rng.random() < 0.75 else (70, 86, 110))


def _path(draw: ImageDraw.ImageDraw, horizon: int, colour: Colour, spread: int = 260) -> None:
    mid = WIDTH // 2
    draw.polygon(
        [(mid - 30, horizon), (mid + 30, horizon), (mid + spread, HEIGHT), (mid - spread, HEIGHT)], fill=colour
    )


def park(seed: str) -> Image.Image:
    rng = _rng(seed)
    image = Image.new("RGB", (WIDTH, HEIGHT))
    draw = ImageDraw.Draw(image)
    horizon = rng.randint(250, 300)
    _sky(draw, horizon, (120, 170, 225), (210, 230, 245))
    _clouds(draw, rng, horizon)
    _ground(draw, horizon, (92, 160, 74), (140, 190, 110))
    _path(draw, horizon, (214, 196, 160))
    autumn = rng.random() < 0.3
    for _ in range(14):
        x = rng.randint(0, WIDTH)
        if abs(x - WIDTH // 2) < 120:
            continue
        base = horizon + rng.randint(5, 60)
        _tree(draw, x, base, rng.randint(60, 110), rng, autumn)
    for x in (150, 700):
        _tree(draw, x + rng.randint(-40, 40), HEIGHT - 90, rng.randint(170, 220), rng, autumn)
    _bench(draw, 250, 470, 1.6)
    _bench(draw, 630, 500, 1.6)
    _lamp(draw, 340, 520, 150)
    _lamp(draw, 610, 560, 170)
    for _ in range(3):
        _person(
            draw,
            WIDTH // 2 + rng.randint(-80, 80),
            horizon + rng.randint(80, 200),
            rng.randint(40, 70),
            _random_colour(rng),
        )
    return image


def square(seed: str) -> Image.Image:
    rng = _rng(seed)
    image = Image.new("RGB", (WIDTH, HEIGHT))
    draw = ImageDraw.Draw(image)
    horizon = 300
    _sky(draw, horizon, (110, 160, 220), (220, 232, 246))
    _clouds(draw, rng, horizon)
    for x0 in range(-20, WIDTH, 170):
        _building(draw, x0, x0 + 150, horizon - rng.randint(90, 170), horizon, _random_facade(rng), rng)
    _ground(draw, horizon, (190, 186, 178), (214, 210, 200))
    for y in range(horizon + 10, HEIGHT, 26):  # paving
        draw.line([(0, y), (WIDTH, y)], fill=(176, 170, 160), width=2)
    cx, cy = WIDTH // 2, 470
    draw.ellipse([cx - 170, cy - 45, cx + 170, cy + 45], fill=(150, 150, 156))
    draw.ellipse([cx - 150, cy - 36, cx + 150, cy + 36], fill=(110, 170, 210))
    for i in range(7):  # fountain jets
        x = cx - 90 + i * 30
        draw.line([(x, cy), (x + rng.randint(-6, 6), cy - rng.randint(60, 110))], fill=(225, 240, 252), width=4)
    for x in (90, 860):
        _tree(draw, x, HEIGHT - 40, 170, rng)
    for _ in range(5):
        _person(draw, rng.randint(60, WIDTH - 60), rng.randint(560, 630), rng.randint(50, 70), _random_colour(rng))
    return image


def embankment(seed: str) -> Image.Image:
    rng = _rng(seed)
    image = Image.new("RGB", (WIDTH, HEIGHT))
    draw = ImageDraw.Draw(image)
    horizon = 240
    _sky(draw, horizon, (125, 175, 230), (230, 236, 246))
    _clouds(draw, rng, horizon)
    for x0 in range(0, WIDTH, 120):  # the far bank
        _building(draw, x0, x0 + 100, horizon - rng.randint(40, 100), horizon, _random_facade(rng), rng)
    draw.rectangle([0, horizon, WIDTH, 400], fill=(70, 130, 180))
    for _ in range(40):
        x, y = rng.randint(0, WIDTH), rng.randint(horizon + 5, 395)
        draw.line([(x, y), (x + rng.randint(15, 40), y)], fill=(150, 195, 230), width=2)
    draw.rectangle([0, 400, WIDTH, 420], fill=(160, 156, 150))  # parapet
    _ground(draw, 420, (196, 184, 160), (210, 200, 180))
    for x in range(40, WIDTH, 180):
        _lamp(draw, x, 420, 160)
    _bench(draw, 300, 560, 1.7)
    _bench(draw, 620, 580, 1.7)
    for _ in range(4):
        _person(draw, rng.randint(60, WIDTH - 60), rng.randint(500, 620), rng.randint(50, 75), _random_colour(rng))
    return image


def courtyard(seed: str) -> Image.Image:
    rng = _rng(seed)
    image = Image.new("RGB", (WIDTH, HEIGHT))
    draw = ImageDraw.Draw(image)
    horizon = 330
    _sky(draw, horizon, (140, 180, 225), (225, 235, 246))
    _building(draw, -10, 330, 60, horizon, _random_facade(rng), rng)
    _building(draw, 630, WIDTH + 10, 80, horizon, _random_facade(rng), rng)
    _building(draw, 330, 630, 140, horizon, _random_facade(rng), rng)
    _ground(draw, horizon, (104, 160, 84), (150, 190, 120))
    draw.rounded_rectangle([330, 420, 650, 600], 18, fill=(226, 110, 80))  # playground surface
    draw.rectangle([380, 440, 390, 560], fill=(70, 90, 160))  # swings
    draw.rectangle([480, 440, 490, 560], fill=(70, 90, 160))
    draw.line([(375, 440), (495, 440)], fill=(70, 90, 160), width=8)
    draw.line([(420, 440), (420, 520)], fill=(60, 60, 60), width=2)
    draw.rectangle([408, 520, 432, 528], fill=(250, 200, 60))
    draw.polygon([(540, 590), (620, 470), (640, 470), (560, 590)], fill=(250, 200, 60))  # slide
    for x in (120, 840):
        _tree(draw, x, HEIGHT - 50, 190, rng)
    _bench(draw, 700, 560, 1.5)
    _person(draw, 450, 600, 55, _random_colour(rng))
    _person(draw, 760, 620, 70, _random_colour(rng))
    return image


def boulevard(seed: str) -> Image.Image:
    rng = _rng(seed)
    image = Image.new("RGB", (WIDTH, HEIGHT))
    draw = ImageDraw.Draw(image)
    horizon = 280
    _sky(draw, horizon, (120, 168, 226), (222, 234, 247))
    _clouds(draw, rng, horizon)
    _ground(draw, horizon, (200, 190, 172), (216, 206, 190))
    _path(draw, horizon, (230, 220, 200), spread=380)
    for i in range(7):  # two rows of trees, in perspective
        t = i / 6
        size = int(60 + 170 * t)
        y = int(horizon + 20 + (HEIGHT - horizon - 40) * t)
        for side in (-1, 1):
            x = WIDTH // 2 + side * int(60 + 360 * t)
            _tree(draw, x, y, size, rng)
    for _ in range(4):
        _person(
            draw, WIDTH // 2 + rng.randint(-140, 140), rng.randint(440, 620), rng.randint(50, 80), _random_colour(rng)
        )
    return image


def forest(seed: str) -> Image.Image:
    rng = _rng(seed)
    image = Image.new("RGB", (WIDTH, HEIGHT))
    draw = ImageDraw.Draw(image)
    horizon = 300
    _sky(draw, horizon, (130, 176, 224), (226, 236, 246))
    draw.polygon([(0, horizon), (220, 170), (420, horizon)], fill=(150, 146, 140))  # granite rocks
    draw.polygon([(300, horizon), (520, 200), (700, horizon)], fill=(128, 124, 120))
    _ground(draw, horizon, (70, 120, 60), (110, 150, 90))
    draw.polygon([(420, HEIGHT), (540, horizon + 20), (580, horizon + 20), (700, HEIGHT)], fill=(170, 130, 90))  # deck
    for _ in range(16):
        x = rng.randint(0, WIDTH)
        if 400 < x < 720:
            continue
        _fir(draw, x, horizon + rng.randint(20, 300), rng.randint(90, 220))
    return image


# --- Design projects: renderings in one of three styles, and a plan -------------------


def rendering(seed: str, style: str) -> Image.Image:
    """A concept's rendering: the same park, redesigned ("wood", "meadow" or "water")."""
    rng = _rng(seed)
    image = Image.new("RGB", (WIDTH, HEIGHT))
    draw = ImageDraw.Draw(image)
    horizon = 270
    _sky(draw, horizon, (150, 196, 240), (238, 242, 250))
    _clouds(draw, rng, horizon)
    _ground(draw, horizon, (120, 186, 92), (168, 210, 130))
    if style == "wood":
        for _ in range(12):
            _fir(draw, rng.randint(0, WIDTH), horizon + rng.randint(10, 120), rng.randint(110, 200))
        draw.polygon([(80, HEIGHT), (380, 380), (620, 380), (900, HEIGHT)], fill=(196, 150, 100))  # boardwalk
        for i in range(12):
            y = 380 + i * 22
            draw.line([(380 - i * 25, y), (620 + i * 24, y)], fill=(160, 116, 74), width=3)
        draw.rectangle([640, 300, 820, 330], fill=(170, 120, 80))  # pavilion roof
        for x in (650, 800):
            draw.rectangle([x, 330, x + 10, 420], fill=(120, 86, 56))
    elif style == "meadow":
        draw.ellipse([160, 330, 800, 560], fill=(140, 204, 110))
        for i in range(5):  # amphitheatre steps
            draw.arc([260 - i * 30, 360 - i * 12, 700 + i * 30, 600 + i * 12], 200, 340, fill=(230, 224, 210), width=10)
        draw.rectangle([420, 480, 540, 500], fill=(236, 150, 80))  # stage
        for _ in range(8):
            _tree(
                draw,
                rng.choice([rng.randint(0, 150), rng.randint(810, WIDTH)]),
                horizon + rng.randint(40, 200),
                120,
                rng,
            )
        for _ in range(30):
            x, y = rng.randint(0, WIDTH), rng.randint(horizon + 150, HEIGHT)
            draw.ellipse([x, y, x + 6, y + 6], fill=rng.choice([(250, 230, 90), (250, 250, 250), (230, 120, 160)]))
    else:  # water
        draw.ellipse([120, 360, 560, 520], fill=(96, 168, 214))
        draw.ellipse([480, 420, 860, 600], fill=(86, 156, 206))
        draw.line([(460, 440), (620, 470)], fill=(210, 190, 150), width=16)  # bridge
        for _ in range(20):
            x, y = rng.randint(150, 820), rng.randint(380, 590)
            draw.ellipse([x, y, x + 18, y + 10], fill=(74, 140, 80))  # water plants
        for _ in range(8):
            _tree(draw, rng.randint(0, WIDTH), horizon + rng.randint(10, 80), rng.randint(90, 140), rng)
    for _ in range(7):
        _person(draw, rng.randint(40, WIDTH - 40), rng.randint(440, 630), rng.randint(45, 75), _random_colour(rng))
    # A soft finish, as visualisations usually have.
    return image.filter(ImageFilter.SMOOTH)


def plan(seed: str, style: str) -> Image.Image:
    """A concept's plan seen from above: lawns, paths, water, play and event areas, a
    north arrow and a scale bar (no words: the page names it)."""
    rng = _rng(seed)
    image = Image.new("RGB", (WIDTH, HEIGHT), (244, 241, 232))
    draw = ImageDraw.Draw(image)
    margin = 40
    draw.rounded_rectangle(
        [margin, margin, WIDTH - margin, HEIGHT - margin], 30, fill=(170, 210, 140), outline=(90, 120, 80), width=4
    )
    if style == "water":
        draw.ellipse([200, 180, 520, 380], fill=(120, 180, 220), outline=(70, 120, 170), width=3)
        draw.ellipse([470, 300, 760, 520], fill=(120, 180, 220), outline=(70, 120, 170), width=3)
    if style == "meadow":
        draw.ellipse([300, 200, 660, 460], fill=(196, 230, 160), outline=(120, 160, 90), width=3)
        draw.pieslice([380, 280, 580, 480], 180, 360, fill=(230, 220, 200))
    if style == "wood":
        for _ in range(40):
            x, y = rng.randint(80, WIDTH - 80), rng.randint(80, HEIGHT - 80)
            draw.ellipse([x - 14, y - 14, x + 14, y + 14], fill=(60, 120, 70))
    for _ in range(2):  # paths
        points = [(rng.randint(margin, WIDTH - margin), rng.choice([margin, HEIGHT - margin]))]
        points += [(rng.randint(150, WIDTH - 150), rng.randint(150, HEIGHT - 150)) for _ in range(2)]
        points.append((rng.choice([margin, WIDTH - margin]), rng.randint(margin, HEIGHT - margin)))
        draw.line(points, fill=(236, 222, 190), width=16, joint="curve")
    draw.rectangle(
        [100, HEIGHT - 170, 230, HEIGHT - 90], fill=(240, 150, 110), outline=(170, 90, 60), width=3
    )  # play area
    for _ in range(25):  # trees
        x, y = rng.randint(70, WIDTH - 70), rng.randint(70, HEIGHT - 70)
        draw.ellipse([x - 9, y - 9, x + 9, y + 9], fill=(80, 140, 80), outline=(50, 100, 60))
    draw.polygon([(WIDTH - 90, 70), (WIDTH - 104, 120), (WIDTH - 76, 120)], fill=(40, 40, 40))  # north arrow
    draw.rectangle([WIDTH - 230, HEIGHT - 70, WIDTH - 80, HEIGHT - 60], fill=(40, 40, 40))  # scale bar
    draw.rectangle([WIDTH - 155, HEIGHT - 70, WIDTH - 80, HEIGHT - 60], fill=(255, 255, 255), outline=(40, 40, 40))
    return image


def _random_colour(rng: random.Random) -> Colour:
    return rng.choice([(200, 60, 60), (60, 110, 200), (240, 180, 40), (80, 160, 90), (150, 80, 170), (230, 120, 60)])


def _random_facade(rng: random.Random) -> Colour:
    return rng.choice([(222, 196, 160), (200, 180, 170), (236, 226, 200), (180, 196, 210), (214, 170, 150)])


# Which illustration suits a space, by the words of its name.
_KIND_WORDS: list[tuple[tuple[str, ...], Callable[[str], Image.Image]]] = [
    (("набережн",), embankment),
    (("двор",), courtyard),
    (("лесопарк", "палатки"), forest),
    (("бульвар",), boulevard),
    (("площад",), square),
    (("парк", "роща"), park),
    (("сквер",), square),
]


# What each illustration shows, for its text alternative.
DESCRIPTIONS: dict[Callable[[str], Image.Image], str] = {
    park: "Рисунок: аллея парка со скамейками, фонарями и деревьями",
    square: "Рисунок: площадь с фонтаном среди домов",
    embankment: "Рисунок: набережная с фонарями и скамейками у воды",
    courtyard: "Рисунок: двор с детской площадкой между жилыми домами",
    boulevard: "Рисунок: бульвар с двумя рядами деревьев",
    forest: "Рисунок: лесная дорожка у гранитных скал",
}


def space_picture(name: str) -> tuple[Image.Image, str]:
    """The illustration that suits the space, and what it shows."""
    lowered = name.lower()
    draw = next((draw for words, draw in _KIND_WORDS if any(word in lowered for word in words)), park)
    return draw(name), DESCRIPTIONS[draw]


def jpeg(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    return buffer.getvalue()
