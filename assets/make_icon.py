"""Draw assets/kibitz.png, the windows' icon (run once by hand: python assets/make_icon.py).

The PNG is committed; this script is kept so the icon can be redrawn, not run at build time.
"""

from pathlib import Path

from PIL import Image, ImageDraw

SIZE = 64
BLUE = (47, 109, 214, 255)
WHITE = (255, 255, 255, 255)


def main() -> None:
    """Draw a speech bubble with two lines of text in it, and save it beside this script."""
    image = Image.new("RGBA", (SIZE, SIZE), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((4, 6, 60, 46), radius=12, fill=BLUE)
    draw.polygon([(16, 44), (30, 44), (14, 58)], fill=BLUE)
    draw.rounded_rectangle((14, 16, 50, 22), radius=3, fill=WHITE)
    draw.rounded_rectangle((14, 29, 40, 35), radius=3, fill=WHITE)
    image.save(Path(__file__).with_name("kibitz.png"), optimize=True)


if __name__ == "__main__":
    main()
