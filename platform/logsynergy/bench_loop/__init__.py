"""`make bench-loop`: the operator's loop measured on labelled public logs (issue 19, item 5).

Each target starts with no label. Its log streams in time order; the endpoint's detector scores each
chunk (`Detector.score_records`, the code the detection endpoint's ModelPool runs, in process rather than
over HTTP), flagged windows gather into incidents by pattern, a simulated operator judges the highest
scored open ones from the true labels, judged `not_anomaly` patterns are suppressed as the endpoint
suppresses them, and the judgements retrain the detector as a feedback file (`pipeline.train(...,
feedback=...)`, the training job's path). F1 on the part not yet streamed is measured after each round.

Modules: `settings` (LoopSettings), `stream` (the target replayed), `incidents` (incidents and the
operator), `loop` (one target), `report` (outputs), `runner` (every target).
"""
