"""Data preparation for fine-tuning (`ragbot data prepare`).

Modules: io (load CSV/JSONL into `Example`s), pii (scrub PII into typed placeholders, measure
it), clean (normalise, length filter, exact/near dedup, balance, grouped stratified split),
config (`DataConfig`), prepare (the pipeline and `PrepareReport`), cli (`data_app`, typer).
Import from the modules; this package imports nothing at load time.
"""
