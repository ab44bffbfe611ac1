"""Draw Aduan's app icons (192, 512 and maskable 512) into static/icons. Run once after a design change."""

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

OUT = Path(__file__).resolve().parent.parent / "static" / "icons"
GREEN, WHITE = (11, 93, 59), (255, 255, 255)


def draw(size: int, maskable: bool) -> Image.Image:
    image = Image.new("RGB", (size, size), GREEN)
    d = ImageDraw.Draw(image)
    # Maskable icons keep their content inside the central 80 % "safe zone".
    inset = size * (0.22 if maskable else 0.12)
    box = (inset, inset, size - inset, size - inset * 1.25)
    d.rounded_rectangle(box, radius=size * 0.08, fill=WHITE)
    tail_x = size * 0.38
    d.polygon(
        [(tail_x, box[3] - 1), (tail_x + size * 0.12, box[3] - 1), (tail_x, box[3] + size * 0.1)],
        fill=WHITE,
    )
    font = ImageFont.load_default(size=int(size * (0.36 if maskable else 0.46)))
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    d.text((cx, cy), "A!", fill=GREEN, font=font, anchor="mm")
    return image


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    draw(192, False).save(OUT / "icon-192.png", optimize=True)
    draw(512, False).save(OUT / "icon-512.png", optimize=True)
    draw(512, True).save(OUT / "icon-maskable-512.png", optimize=True)


if __name__ == "__main__":
    main()
