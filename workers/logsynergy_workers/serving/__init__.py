"""The detection service: one Ray Serve application (`app.build_app`) serving every system's detector.

`DetectIngress` (FastAPI: auth, routing table, request parsing, alert hooks) calls `ModelPool`
(detectors multiplexed on `"{tenant}/{system}:{version}"`, batched scoring, stream state).
"""
