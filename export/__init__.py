"""Export side of fcn8-ocr (installed as `fcn8_ocr.export`): Keras -> ONNX with the
runner's contract (uint8 image in; labels, scores out; metadata), parity check."""
