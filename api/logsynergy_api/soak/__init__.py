"""`make soak`: minutes of mixed traffic against `logsynergy up`, measured (a benchmark, not a test).

`python -m logsynergy_api.soak --out runs/soak [--minutes 10]` starts the local platform in a fresh data
directory, onboards systems through the REST API (synthetic multi-system logs, tiny training options) and
then, for `--minutes`, drives at once: detection requests from concurrent clients over every system that
has a model, dataset uploads, training jobs (new systems and retraining), cancellations, model
activations and rollbacks, reads (lists, health, `/metrics`, the endpoint's stats) and requests that must
fail (counted apart from unexpected errors). It samples the memory of every process of the platform and
finally checks that nothing was lost: uploads listed and stored byte for byte and fed to later jobs, jobs
final exactly once with one model version per success, every activation seen at the endpoint, every
detection request answered in full, every window answered as anomalous in its system's anomaly history
(once the control plane has emptied the inbox). Writes results.json and results.md under
`OUT/<timestamp>/`.
"""
