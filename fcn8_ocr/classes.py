"""The class convention shared by training, export, evaluation and the runner.

Class id = M2NIST channel: 0-9 are the digits 0-9, 10 is background, 255 means
"ignore this pixel" in label files.
"""

DIGIT_CLASSES: tuple[int, ...] = tuple(range(10))
BACKGROUND: int = 10
IGNORE: int = 255
NUM_CLASSES: int = 11
CLASS_NAMES: tuple[str, ...] = tuple(str(d) for d in DIGIT_CLASSES) + ("background",)

# Labels mark a pixel as a digit where a stroke covers at least half of it. Once the runner
# has removed the paper and stretched ink to about 230, such pixels are at least this bright.
INK_LEVEL: int = 115
