"""Draw the SVR Desktop application icon: a photo turning into a 3D part.

A dark rounded tile; a photo (white frame, sky and a flat part silhouette)
at the back left; an isometric block in the application's mesh colour at
the front right.  Drawn once at 1024 px and downsampled, so every size is
antialiased.  Writes ``svr-desktop-{16,...,256}.png`` next to this script:

    python resources/icons/make_icon.py
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

SIZES = (16, 32, 48, 64, 128, 256)
CANVAS = 1024
TILE = (28, 39, 54, 255)
FRAME = (245, 247, 250, 255)
SKY = (120, 150, 185, 255)
SILHOUETTE = (196, 116, 62, 255)  # copper, like the sample flange
# Faces of the block: top, left, right (the application's mesh colour #7fa7d0, lit from the top left).
BLOCK = ((168, 198, 228, 255), (127, 167, 208, 255), (84, 118, 156, 255))
OUTLINE = (20, 28, 40, 255)


def draw_icon() -> Image.Image:
    image = Image.new("RGBA", (CANVAS, CANVAS), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((32, 32, CANVAS - 32, CANVAS - 32), radius=180, fill=TILE)

    # the photo, tilted a little by drawing it as a parallelogram
    frame = [(140, 250), (600, 190), (650, 600), (190, 660)]
    draw.polygon(frame, fill=FRAME)
    inner = [(180, 285), (565, 235), (607, 565), (222, 615)]
    draw.polygon(inner, fill=SKY)
    draw.ellipse((300, 330, 470, 520), fill=SILHOUETTE)
    draw.ellipse((355, 390, 415, 460), fill=SKY)

    # the isometric block (a unit cube seen from (1, 1, 1))
    centre, edge = (650, 650), 210
    top = [(centre[0], centre[1] - edge), (centre[0] + edge * 0.87, centre[1] - edge * 0.5), centre,
           (centre[0] - edge * 0.87, centre[1] - edge * 0.5)]
    top = [(x, y - edge * 0.5) for x, y in top]
    left = [top[3], top[2], (top[2][0], top[2][1] + edge), (top[3][0], top[3][1] + edge)]
    right = [top[2], top[1], (top[1][0], top[1][1] + edge), (top[2][0], top[2][1] + edge)]
    for face, colour in zip((top, left, right), BLOCK):
        draw.polygon(face, fill=colour, outline=OUTLINE, width=10)
    return image


def main() -> None:
    folder = Path(__file__).resolve().parent
    icon = draw_icon()
    for size in SIZES:
        icon.resize((size, size), Image.LANCZOS).save(folder / f"svr-desktop-{size}.png", optimize=True)
        print(folder / f"svr-desktop-{size}.png")


if __name__ == "__main__":
    main()
