"""Training side of fcn8-ocr (installed as `fcn8_ocr.train`): digit sources,
synthetic pages and tiles, the input pipelines, the FCN-8 model, fitting and evaluation.

Needs the `[train]` extra (TensorFlow, mlxtend); `sources`, `synth` and `tiles` need only
numpy/opencv, and `losses`, `recipe` and `workers` any Keras backend (JAX on a GPU
machine without TensorFlow: `fcn8-ocr train --workers N`).
"""
