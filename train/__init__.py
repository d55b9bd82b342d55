"""Training side of fcn8-ocr (installed as `fcn8_ocr.train`): digit sources,
synthetic pages, the tf.data pipeline, the FCN-8 model, fitting and evaluation.

Needs the `[train]` extra (TensorFlow, mlxtend); `sources` and `synth` need only numpy/opencv.
"""
