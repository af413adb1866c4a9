"""User-initiated analysis: runs over a time window that turn filtered messages into LLM proposals
with confidence (runs.py), and classification experiments that score a model or prompt on a labelled
message set by accuracy and confusion matrix (experiments.py). Engine only; the jobs are in assets/."""
